"""Context for the enterprise-page chain panel and the dashboard card (both scoped)."""

from __future__ import annotations

from typing import Any

from sqlalchemy import select
from sqlalchemy.orm import joinedload

from tracker.accounts.roles import EDITOR_ROLES
from tracker.accounts.scope import tenancy_scope
from tracker.extensions import db
from tracker.incubation import services
from tracker.incubation.models import StatusProposal, Tenancy


def chain_context(enterprise: Any, user: Any) -> dict[str, Any]:
    """The firm's tenancies in order (maker space → incubator → park) the user may see."""
    tenancies = db.session.scalars(
        select(Tenancy).options(joinedload(Tenancy.carrier))
        .where(tenancy_scope(user), Tenancy.enterprise_id == enterprise.id)
        .order_by(Tenancy.moved_in_on, Tenancy.id)).all()
    pending = {}
    if tenancies:
        pending = {p.tenancy_id: p for p in db.session.scalars(select(StatusProposal).where(
            StatusProposal.tenancy_id.in_([t.id for t in tenancies]),
            StatusProposal.status == "pending"))}
    return {
        "chain": tenancies,
        "chain_pending": pending,
        "chain_can_propose": bool(getattr(user, "can_edit_tenant_data", False)),
        "chain_is_editor": getattr(user, "role", None) in EDITOR_ROLES,
    }


def card_context(user: Any) -> dict[str, Any]:
    """Tenants incubating, graduated this year and terms ending soon, in the user's scope."""
    return {"incubation": services.dashboard_counts(user)}
