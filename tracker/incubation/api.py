"""JSON reads of carriers and tenancies; session-authenticated and scoped like the pages."""

from __future__ import annotations

from typing import Any

from flask import Blueprint, request
from flask_login import current_user
from sqlalchemy import select

from tracker.accounts.scope import (
    carrier_scope,
    get_carrier_or_404,
    get_tenancy_or_404,
    tenancy_scope,
)
from tracker.extensions import db
from tracker.incubation.models import Carrier, Tenancy
from tracker.pagination import SortKey, keyset_page, requested_size

api_bp = Blueprint("incubation_api", __name__, url_prefix="/api/v1/incubation")


@api_bp.before_request
def _authenticated():
    if not current_user.is_authenticated:
        return {"error": "unauthorized", "message": "请先登录"}, 401
    return None


def _carrier(c: Carrier) -> dict[str, Any]:
    return {"id": c.id, "name": c.name, "kind": c.kind, "scheme": c.scheme, "level": c.level,
            "zone": c.zone, "area_m2": c.area_m2, "default_term_months": c.default_term_months,
            "recognised_on": c.recognised_on.isoformat() if c.recognised_on else None,
            "archived": c.archived}


def _tenancy(t: Tenancy) -> dict[str, Any]:
    return {"id": t.id, "enterprise_id": t.enterprise_id, "carrier_id": t.carrier_id,
            "moved_in_on": t.moved_in_on.isoformat(), "term_ends_on": t.term_ends_on.isoformat(),
            "status": t.status, "ended_on": t.ended_on.isoformat() if t.ended_on else None,
            "graduation_basis": t.graduation_basis,
            "previous_tenancy_id": t.previous_tenancy_id}


@api_bp.get("/carriers")
def carriers():
    page = keyset_page(db.session, select(Carrier).where(carrier_scope(current_user)),
                       [SortKey(Carrier.id, kind="int")], size=requested_size(),
                       after=request.args.get("after"))
    return {"items": [_carrier(c) for c in page.items], "next": page.next_cursor}


@api_bp.get("/carriers/<int:carrier_id>")
def carrier(carrier_id: int):
    return _carrier(get_carrier_or_404(current_user, carrier_id))


@api_bp.get("/carriers/<int:carrier_id>/tenancies")
def carrier_tenancies(carrier_id: int):
    carrier = get_carrier_or_404(current_user, carrier_id)
    query = select(Tenancy).where(tenancy_scope(current_user), Tenancy.carrier_id == carrier.id)
    page = keyset_page(db.session, query, [SortKey(Tenancy.id, kind="int")], size=requested_size(),
                       after=request.args.get("after"))
    return {"items": [_tenancy(t) for t in page.items], "next": page.next_cursor}


@api_bp.get("/tenancies/<int:tenancy_id>")
def tenancy(tenancy_id: int):
    return _tenancy(get_tenancy_or_404(current_user, tenancy_id))
