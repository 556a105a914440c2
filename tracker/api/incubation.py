"""Carriers, tenancies, status proposals and tenant reports under /api/v1/incubation.

What a carrier's own system needs: list its current tenants, correct a move-in, submit the
periodic figures and propose a graduation — scoped and checked as on the pages, through the
same services. Path ids are bounded to int4 like in tracker/api/enterprises.py.
"""

from __future__ import annotations

from typing import Any

from flask import url_for
from flask_login import current_user
from flask_smorest import Blueprint
from sqlalchemy import select

from tracker.accounts.roles import EDITOR_ROLES
from tracker.accounts.scope import (
    carrier_scope,
    get_carrier_or_404,
    get_tenancy_or_404,
    tenancy_scope,
)
from tracker.api import schemas
from tracker.api.errors import ApiError
from tracker.api.views import require
from tracker.api.writes import (
    IDEMPOTENCY_KEY,
    IF_MATCH,
    IF_MATCH_ON_FILE,
    commit_write,
    etag,
    if_match_version,
)
from tracker.extensions import db
from tracker.incubation import services
from tracker.incubation.models import (
    Carrier,
    ReportingCycle,
    StatusProposal,
    Tenancy,
    TenantReport,
)
from tracker.pagination import SortKey, keyset_page, requested_size

api_bp = Blueprint("incubation_api", __name__, url_prefix="/api/v1/incubation",
                   description="Carriers, tenancies, proposals and tenant reports")

_BY_ID = [SortKey(Tenancy.id, kind="int")]


@api_bp.get("/carriers")
@api_bp.arguments(schemas.PageArgs, location="query", as_kwargs=True)
@api_bp.response(200, schemas.page_of(schemas.Carrier, "CarrierList"))
def carriers(**args: Any):
    page = keyset_page(db.session, select(Carrier).where(carrier_scope(current_user)),
                       [SortKey(Carrier.id, kind="int")], size=requested_size(),
                       after=args.get("after"))
    return {"items": page.items, "next": page.next_cursor}


@api_bp.get("/carriers/<int(max=2147483647):carrier_id>")
@api_bp.response(200, schemas.Carrier)
def carrier(carrier_id: int):
    return get_carrier_or_404(current_user, carrier_id)


@api_bp.get("/carriers/<int(max=2147483647):carrier_id>/tenancies")
@api_bp.arguments(schemas.PageArgs, location="query", as_kwargs=True)
@api_bp.response(200, schemas.TenancyList)
def carrier_tenancies(carrier_id: int, **args: Any):
    carrier = get_carrier_or_404(current_user, carrier_id)
    query = select(Tenancy).where(tenancy_scope(current_user), Tenancy.carrier_id == carrier.id)
    page = keyset_page(db.session, query, _BY_ID, size=requested_size(),
                       after=args.get("after"))
    return {"items": page.items, "next": page.next_cursor}


@api_bp.get("/tenancies")
@api_bp.arguments(schemas.TenancyArgs, location="query", as_kwargs=True)
@api_bp.response(200, schemas.TenancyList)
def tenancies(**args: Any):
    """Tenancies in scope (a carrier manager: their carrier's); filter by carrier, firm, status
    (`incubating` lists the current tenants)."""
    query = select(Tenancy).where(tenancy_scope(current_user))
    for name in ("carrier_id", "enterprise_id", "status"):
        if args.get(name) is not None:
            query = query.where(getattr(Tenancy, name) == args[name])
    page = keyset_page(db.session, query, _BY_ID, size=requested_size(),
                       after=args.get("after"))
    return {"items": page.items, "next": page.next_cursor}


@api_bp.get("/tenancies/<int(max=2147483647):tenancy_id>")
@api_bp.response(200, schemas.Tenancy)
def tenancy(tenancy_id: int):
    item = get_tenancy_or_404(current_user, tenancy_id)
    return item, {"ETag": etag(item)}


def _editable_tenancy(tenancy_id: int) -> Tenancy:
    require("can_edit_tenant_data")
    tenancy = get_tenancy_or_404(current_user, tenancy_id)
    from tracker.accounts.scope import may_edit_tenancy

    if not may_edit_tenancy(current_user, tenancy.id):
        raise ApiError(403, "该入驻记录只读（已结束或不在您的管理范围）")
    return tenancy


@api_bp.patch("/tenancies/<int(max=2147483647):tenancy_id>")
@api_bp.arguments(schemas.TenancyPatch)
@api_bp.response(200, schemas.Tenancy)
@api_bp.doc(parameters=[IF_MATCH])
def tenancy_update(data: dict[str, Any], tenancy_id: int):
    """Correct the move-in date, term or area; If-Match carries the version read."""
    item = _editable_tenancy(tenancy_id)
    version = if_match_version()
    values = {"moved_in_on": item.moved_in_on, "term_ends_on": item.term_ends_on,
              "term_override_reason": item.term_override_reason, "area_m2": item.area_m2,
              **data}
    return commit_write(
        lambda: services.update_tenancy(item, values, expected_version=version,
                                        user=current_user),
        lambda _changes: (schemas.Tenancy().dump(item), 200, {"ETag": etag(item)}),
        current_version=lambda: db.session.get(Tenancy, tenancy_id).version)


@api_bp.get("/tenancies/<int(max=2147483647):tenancy_id>/proposals")
@api_bp.response(200, schemas.Proposal(many=True))
def proposals(tenancy_id: int):
    item = get_tenancy_or_404(current_user, tenancy_id)
    return db.session.scalars(select(StatusProposal).where(
        StatusProposal.tenancy_id == item.id).order_by(StatusProposal.id)).all()


@api_bp.get("/proposals/<int(max=2147483647):proposal_id>")
@api_bp.response(200, schemas.Proposal)
def proposal(proposal_id: int):
    """One proposal and, once decided, the bureau's decision (poll this after proposing)."""
    item = db.session.scalar(select(StatusProposal).join(
        Tenancy, StatusProposal.tenancy_id == Tenancy.id).where(
        tenancy_scope(current_user), StatusProposal.id == proposal_id))
    if item is None:
        raise ApiError(404, "没有该状态变更申请")
    return item, {"ETag": etag(item)}


@api_bp.post("/tenancies/<int(max=2147483647):tenancy_id>/proposals")
@api_bp.arguments(schemas.ProposalIn)
@api_bp.response(201, schemas.Proposal)
@api_bp.doc(parameters=[IDEMPOTENCY_KEY])
def propose(data: dict[str, Any], tenancy_id: int):
    """Propose a graduation, exit or move for the bureau to decide (nothing else changes)."""
    item = _editable_tenancy(tenancy_id)
    values = {**data}
    if current_user.role not in EDITOR_ROLES:
        values["next_carrier_id"] = None  # managers name the next carrier in words only
    return commit_write(
        lambda: services.propose(item, data["action"], values, user=current_user),
        lambda p: (schemas.Proposal().dump(p), 201, {"ETag": etag(p), "Location": url_for(
            "incubation_api.proposal", proposal_id=p.id)}))


# -- tenant reports ----------------------------------------------------------------------------

@api_bp.get("/reporting-cycles")
@api_bp.arguments(schemas.PageArgs, location="query", as_kwargs=True)
@api_bp.response(200, schemas.page_of(schemas.Cycle, "CycleList"))
def cycles(**args: Any):
    page = keyset_page(db.session, select(ReportingCycle),
                       [SortKey(ReportingCycle.id, descending=True, kind="int")],
                       size=requested_size(), after=args.get("after"))
    return {"items": page.items, "next": page.next_cursor}


@api_bp.get("/tenant-reports")
@api_bp.arguments(schemas.ReportArgs, location="query", as_kwargs=True)
@api_bp.response(200, schemas.page_of(schemas.TenantReport, "TenantReportList"))
def reports(**args: Any):
    """Submitted reports of tenancies in scope; filter by cycle or tenancy."""
    query = select(TenantReport).join(Tenancy, TenantReport.tenancy_id == Tenancy.id).where(
        tenancy_scope(current_user))
    for name in ("cycle_id", "tenancy_id"):
        if args.get(name) is not None:
            query = query.where(getattr(TenantReport, name) == args[name])
    page = keyset_page(db.session, query, [SortKey(TenantReport.id, kind="int")],
                       size=requested_size(), after=args.get("after"))
    return {"items": page.items, "next": page.next_cursor}


@api_bp.post("/tenant-reports")
@api_bp.arguments(schemas.TenantReportIn)
@api_bp.response(201, schemas.TenantReport)
@api_bp.doc(parameters=[IF_MATCH_ON_FILE, IDEMPOTENCY_KEY])
def report_submit(data: dict[str, Any]):
    """Submit a tenant's year-to-date figures (元) for a cycle; they feed its yearly figures.

    A first submission answers 201; replacing one on file needs If-Match (its ETag) and
    answers 200.
    """
    require("can_edit_tenant_data")
    cycle = db.session.get(ReportingCycle, data["cycle_id"])
    if cycle is None:
        raise ApiError(404, "没有该报送周期")
    item = get_tenancy_or_404(current_user, data["tenancy_id"])
    if not db.session.scalar(select(Tenancy.id).where(Tenancy.id == item.id,
                                                      services.expected_clause(cycle))):
        raise ApiError(404, "该企业在本报送周期内不在孵，无需报送")
    existing = db.session.scalar(select(TenantReport).where(
        TenantReport.cycle_id == cycle.id, TenantReport.tenancy_id == item.id))
    version = if_match_version(required=existing is not None)
    values = {k: v for k, v in data.items() if k not in ("cycle_id", "tenancy_id")}
    status = 201 if existing is None else 200
    return commit_write(
        lambda: services.submit_report(cycle, item, values, user=current_user,
                                       expected_version=version),
        lambda r: (schemas.TenantReport().dump(r), status, {"ETag": etag(r), "Location": url_for(
            "incubation_api.reports", cycle_id=r.cycle_id, tenancy_id=r.tenancy_id)}),
        current_version=lambda: existing.version if existing else 1)
