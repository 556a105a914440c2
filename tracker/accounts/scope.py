"""The one scoping function per role that every list, page, export and API call uses.

A record outside the user's scope is simply not found (404), never half-shown.

Carrier managers: their scope is their carrier's CURRENT tenants (a tenancy still incubating).
A firm that graduated, exited or moved on leaves the manager's enterprise scope entirely (its
page, contacts, yearly figures, reminders and activities answer 404). What stays is read-only
history of the manager's own tenancy rows (the carrier's tenant list, the tenancy page without
the firm's present figures, past proposals and the tenant reports of periods it was resident):
`tenancy_scope` reads, `editable_tenancy_scope` writes, and only current tenancies are editable.

Beside the read scope live the write rules: which firms a user may change and in which zone a
user may place a firm; pages, imports and services all ask here.
"""

from __future__ import annotations

from typing import Any

from flask import abort
from sqlalchemy import ColumnElement, Select, and_, false, or_, select, true

from tracker.accounts.roles import EDITOR_ROLES, GLOBAL_READ_ROLES, Role
from tracker.enterprises.models import Enterprise
from tracker.extensions import db
from tracker.incubation.models import Carrier, Tenancy
from tracker.reminders.models import OutboxMessage, Reminder

#: a tenancy that has not ended: the firm is at the carrier now
CURRENT_TENANCY = Tenancy.status == "incubating"


def _signed_in(user: Any) -> bool:
    return user is not None and bool(getattr(user, "is_authenticated", False))


def current_tenants(carrier_id: int) -> Select:
    """Ids of the firms a carrier hosts today (a manager's whole enterprise scope)."""
    return select(Tenancy.enterprise_id).where(Tenancy.carrier_id == carrier_id, CURRENT_TENANCY)


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
        return Enterprise.id.in_(current_tenants(user.carrier_id))
    return false()


def enterprise_edit_scope(user: Any) -> ColumnElement[bool]:
    """A WHERE clause limiting Enterprise rows to those whose record `user` may change.

    Editors change what they see (zone staff: their own zone); viewers and carrier managers
    change no firm's record (managers edit their tenants' figures through tenancy pages).
    """
    if user is None or not getattr(user, "is_authenticated", False):
        return false()
    if user.role not in EDITOR_ROLES:
        return false()
    return enterprise_scope(user)


def editable_enterprises(user: Any) -> Select:
    """Enterprises whose record `user` may change (the import preloads through this)."""
    return select(Enterprise).where(enterprise_edit_scope(user))


def may_edit_enterprise(user: Any, enterprise: Enterprise) -> bool:
    """The edit scope of enterprise_edit_scope for one firm already loaded."""
    if user is None or not getattr(user, "is_authenticated", False):
        return False
    if user.role not in EDITOR_ROLES:
        return False
    if user.role == Role.ZONE:
        return bool(user.zone) and enterprise.zone == user.zone
    return True


def may_place_in_zone(user: Any, zone: str | None) -> bool:
    """Zone staff register and move firms only within their own zone; others anywhere.

    `user=None` is the shell (CLI, tasks): no person's zone applies.
    """
    if user is None or getattr(user, "role", None) != Role.ZONE:
        return True
    return bool(user.zone) and zone == user.zone


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


def editable_tenancy_scope(user: Any) -> ColumnElement[bool]:
    """Tenancies a user may change or propose on: a manager only current ones; viewers none."""
    if not _signed_in(user) or not getattr(user, "can_edit_tenant_data", False):
        return false()
    if user.role == Role.CARRIER_MANAGER:
        return and_(tenancy_scope(user), CURRENT_TENANCY)
    return tenancy_scope(user)


def may_edit_tenancy(user: Any, tenancy_id: int) -> bool:
    return db.session.scalar(select(Tenancy.id).where(
        editable_tenancy_scope(user), Tenancy.id == tenancy_id)) is not None


def may_see_enterprise(user: Any, enterprise_id: int) -> bool:
    """Whether the firm itself (not just a tenancy row naming it) is in the user's scope."""
    return db.session.scalar(
        select(Enterprise.id).where(enterprise_scope(user), Enterprise.id == enterprise_id)
    ) is not None


def counted_tenancies(user: Any | None) -> ColumnElement[bool]:
    """Tenancies a carrier figure may count: the user's tenancy scope; None (the shell) all.

    Figures are a side channel too: a zone officer's 在孵 count at a carrier in their zone must
    not include firms of other zones they cannot open.
    """
    return true() if user is None else tenancy_scope(user)


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


def get_tenancy_or_404(user: Any, tenancy_id: int, *, for_edit: bool = False) -> Tenancy:
    """The tenancy in scope, else 404; `for_edit` also refuses (403) one the user only reads."""
    tenancy = db.session.scalar(
        select(Tenancy).where(tenancy_scope(user), Tenancy.id == tenancy_id)
    )
    if tenancy is None:
        abort(404)
    if for_edit and not may_edit_tenancy(user, tenancy_id):
        abort(403)
    return tenancy


def _reminder_sides(user: Any) -> tuple[Select, ColumnElement[bool]] | None:
    """The reminder rule's two sides: firms in scope, and rows addressed to the user; None: all.

    `reminder_scope` and `reminder_scope_parts` both build on this, so the rule is written once.
    """
    if user.role in GLOBAL_READ_ROLES:
        return None
    firms = select(Enterprise.id).where(enterprise_scope(user))
    own = and_(Reminder.recipient_type == "user", Reminder.recipient_id == user.id)
    return firms, own


def reminder_scope(user: Any) -> ColumnElement[bool]:
    """Reminders about enterprises in the user's scope, plus the user's own digests."""
    sides = _reminder_sides(user)
    if sides is None:
        return true()
    firms, own = sides
    return or_(Reminder.enterprise_id.in_(firms), own)


def reminder_scope_parts(user: Any) -> list[ColumnElement[bool]]:
    """`reminder_scope` as disjoint clauses whose union is the same rows, for counting.

    The OR of "about a firm in scope" and "addressed to the user" keeps PostgreSQL from using
    an index for either side, so a count in a small scope (a carrier's tenants) read every row
    of the status. Apart, the first walks the scope's firms on (status, enterprise_id) and
    the second the user's own rows on the partial index of user recipients.
    """
    sides = _reminder_sides(user)
    if sides is None:
        return [true()]
    firms, own = sides
    return [Reminder.enterprise_id.in_(firms),
            and_(own, or_(Reminder.enterprise_id.is_(None), Reminder.enterprise_id.not_in(firms)))]


def outbox_scope(user: Any) -> ColumnElement[bool]:
    """Outgoing messages whose reminder the user may see."""
    if user.role in GLOBAL_READ_ROLES:
        return true()
    return OutboxMessage.reminder_id.in_(select(Reminder.id).where(reminder_scope(user)))


def zone_sum_scope(user: Any, zone: Any) -> ColumnElement[bool] | None:
    """Rows kept per zone whose sum is a user's figure: every zone's, or their own zone's.

    None when the user's figures are not a sum of zones (a carrier manager's are their
    current tenants, a zone officer without a zone has none): they are counted directly.
    """
    if not _signed_in(user):
        return None
    if user.role in GLOBAL_READ_ROLES:
        return true()
    if user.role == Role.ZONE and user.zone:
        return zone == user.zone
    return None


def monthly_count_scope(user: Any, cells: Any) -> ColumnElement[bool]:
    """Month-end count cells (dashboard.models.MonthlyCount, or the live cells of the same
    shape) a user's figures may add up: all of them, their zone's, or their carrier's tenants.

    `cells` is a column collection with `measure`, `zone` and `carrier_id` (a table's `.c`).
    A carrier manager's enterprise scope is their current tenants, whose rung history is not
    a figure of theirs; they see the tenant counts of their own carrier only.
    """
    zones = zone_sum_scope(user, cells.zone)
    if zones is not None:
        return zones
    if _signed_in(user) and user.role == Role.CARRIER_MANAGER and user.carrier_id:
        return and_(cells.measure == "carrier_kind", cells.carrier_id == user.carrier_id)
    return false()
