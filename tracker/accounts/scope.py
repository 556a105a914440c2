"""The one scoping function per role that every list, page, export and API call uses.

A record outside the user's scope is simply not found (404), never half-shown.
"""

from __future__ import annotations

from typing import Any

from flask import abort
from sqlalchemy import ColumnElement, Select, false, select, true

from tracker.accounts.roles import GLOBAL_READ_ROLES, Role
from tracker.enterprises.models import Enterprise
from tracker.extensions import db
from tracker.incubation.models import Carrier, Tenancy


def enterprise_scope(user: Any) -> ColumnElement[bool]:
    """A WHERE clause limiting Enterprise rows to what `user` may see."""
    if user is None or not getattr(user, "is_authenticated", False):
        return false()
    role = user.role
    if role in GLOBAL_READ_ROLES:
        return true()
    if role == Role.ZONE:
        return Enterprise.zone == user.zone if user.zone else false()
    if role == Role.CARRIER_MANAGER:
        if not user.carrier_id:
            return false()
        return Enterprise.id.in_(
            select(Tenancy.enterprise_id).where(Tenancy.carrier_id == user.carrier_id)
        )
    return false()


def carrier_scope(user: Any) -> ColumnElement[bool]:
    """A WHERE clause limiting Carrier rows to what `user` may see."""
    if user is None or not getattr(user, "is_authenticated", False):
        return false()
    if user.role in GLOBAL_READ_ROLES:
        return true()
    if user.role == Role.ZONE:
        return Carrier.zone == user.zone if user.zone else false()
    if user.role == Role.CARRIER_MANAGER:
        return Carrier.id == user.carrier_id if user.carrier_id else false()
    return false()


def tenancy_scope(user: Any) -> ColumnElement[bool]:
    """Tenancies a user may see: a manager only their carrier's, zone staff their zone's firms."""
    if user is None or not getattr(user, "is_authenticated", False):
        return false()
    if user.role in GLOBAL_READ_ROLES:
        return true()
    if user.role == Role.CARRIER_MANAGER:
        return Tenancy.carrier_id == user.carrier_id if user.carrier_id else false()
    if user.role == Role.ZONE:
        return Tenancy.enterprise_id.in_(
            select(Enterprise.id).where(enterprise_scope(user))
        )
    return false()


def scoped_enterprises(user: Any) -> Select:
    return select(Enterprise).where(enterprise_scope(user))


def get_enterprise_or_404(user: Any, enterprise_id: int) -> Enterprise:
    enterprise = db.session.scalar(
        scoped_enterprises(user).where(Enterprise.id == enterprise_id)
    )
    if enterprise is None:
        abort(404)
    return enterprise


def get_carrier_or_404(user: Any, carrier_id: int) -> Carrier:
    carrier = db.session.scalar(
        select(Carrier).where(carrier_scope(user), Carrier.id == carrier_id)
    )
    if carrier is None:
        abort(404)
    return carrier


def get_tenancy_or_404(user: Any, tenancy_id: int) -> Tenancy:
    tenancy = db.session.scalar(
        select(Tenancy).where(tenancy_scope(user), Tenancy.id == tenancy_id)
    )
    if tenancy is None:
        abort(404)
    return tenancy
