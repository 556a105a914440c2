"""Firms and what hangs off them: contacts, yearly figures, titles, bids, stage history.

Path ids are int4 columns: `<int(max=2147483647):…>` answers a bigger one with a plain 404 (and
documents the maximum) rather than letting PostgreSQL fail on "integer out of range".

Reads are scoped exactly like the pages (tracker.accounts.scope: out of scope is 404); writes go
through the same services as the forms, under the same optimistic locks (If-Match).
"""

from __future__ import annotations

from typing import Any

from flask import request, url_for
from flask_login import current_user
from sqlalchemy import select

from tracker.accounts.scope import get_enterprise_or_404, may_edit_enterprise
from tracker.api import schemas
from tracker.api.errors import ApiError
from tracker.api.views import bp, require
from tracker.api.writes import (
    IDEMPOTENCY_KEY,
    IF_MATCH,
    IF_MATCH_ON_FILE,
    commit_write,
    etag,
    if_match_version,
)
from tracker.enterprises import queries
from tracker.enterprises import services as enterprises
from tracker.enterprises.models import AnnualMetrics, Contact, Enterprise
from tracker.errors import check_version
from tracker.extensions import db
from tracker.ladder import services as ladder
from tracker.ladder.models import Application, StageTransition
from tracker.pagination import requested_size


def enterprise_summary(enterprise: Enterprise) -> dict[str, Any]:
    return schemas.EnterpriseSummary().dump(enterprise)


def _detail(item: Enterprise) -> dict[str, Any]:
    return schemas.EnterpriseDetail().dump(item)


def _metrics(m: AnnualMetrics) -> dict[str, Any]:
    return schemas.Metrics().dump(m)


def _editable(enterprise_id: int) -> Enterprise:
    """A firm the caller may change: 404 outside their scope, 403 when they only read it."""
    enterprise = get_enterprise_or_404(current_user, enterprise_id)
    if not may_edit_enterprise(current_user, enterprise):
        raise ApiError(403, "您无权修改该企业")
    return enterprise


def _tenant_data(enterprise_id: int) -> Enterprise:
    """A firm whose contacts and figures the caller may change (carrier managers too)."""
    require("can_edit_tenant_data")
    return get_enterprise_or_404(current_user, enterprise_id)


# -- enterprises -------------------------------------------------------------------------------

@bp.get("/enterprises")
@bp.arguments(schemas.EnterpriseArgs, location="query", as_kwargs=True)
@bp.response(200, schemas.EnterpriseList)
def enterprises_list(**_args: Any):
    """The enterprise list: same filters, sort and keyset cursor as the list page.

    Beyond the count cap the count stops: `count` is then a lower bound.
    """
    filters = queries.EnterpriseFilters.from_args(request.args)
    page = queries.page(current_user, filters, size=requested_size(),
                        after=request.args.get("after"))
    total = queries.capped_count(current_user, filters)
    return {"count": total.n, "count_is_lower_bound": total.capped,
            "items": page.items, "next": page.next_cursor}


@bp.post("/enterprises")
@bp.arguments(schemas.EnterpriseIn)
@bp.response(201, schemas.EnterpriseDetail)
@bp.doc(parameters=[IDEMPOTENCY_KEY])
def enterprise_create(data: dict[str, Any]):
    """Register a firm (editor roles; zone staff in their own zone)."""
    require("can_edit")
    return commit_write(
        lambda: enterprises.create_enterprise(data, user=current_user),
        lambda e: (_detail(e), 201, {"ETag": etag(e), "Location": url_for(
            "api.enterprise", enterprise_id=e.id)}))


@bp.get("/enterprises/<int(max=2147483647):enterprise_id>")
@bp.response(200, schemas.EnterpriseDetail)
def enterprise(enterprise_id: int):
    """One firm with its yearly figures and contacts; the ETag is its version."""
    item = get_enterprise_or_404(current_user, enterprise_id)
    return item, {"ETag": etag(item)}


@bp.patch("/enterprises/<int(max=2147483647):enterprise_id>")
@bp.arguments(schemas.EnterprisePatch)
@bp.response(200, schemas.EnterpriseDetail)
@bp.doc(parameters=[IF_MATCH])
def enterprise_update(data: dict[str, Any], enterprise_id: int):
    """Change the fields sent; If-Match must carry the ETag read (412 stale, 428 missing)."""
    item = _editable(enterprise_id)
    version = if_match_version()
    return commit_write(
        lambda: enterprises.update_enterprise(item, data, expected_version=version,
                                              user=current_user),
        lambda _changes: (_detail(item), 200, {"ETag": etag(item)}),
        current_version=lambda: db.session.get(Enterprise, enterprise_id).version)


# -- contacts ----------------------------------------------------------------------------------

@bp.get("/enterprises/<int(max=2147483647):enterprise_id>/contacts")
@bp.response(200, schemas.Contact(many=True))
def contacts(enterprise_id: int):
    return get_enterprise_or_404(current_user, enterprise_id).contacts


@bp.post("/enterprises/<int(max=2147483647):enterprise_id>/contacts")
@bp.arguments(schemas.ContactIn)
@bp.response(201, schemas.Contact)
@bp.doc(parameters=[IDEMPOTENCY_KEY])
def contact_create(data: dict[str, Any], enterprise_id: int):
    item = _tenant_data(enterprise_id)
    return commit_write(lambda: enterprises.save_contact(item, data),
                        lambda c: (schemas.Contact().dump(c), 201, {"ETag": etag(c)}))


@bp.patch("/enterprises/<int(max=2147483647):enterprise_id>/contacts/<int(max=2147483647):contact_id>")
@bp.arguments(schemas.ContactPatch)
@bp.response(200, schemas.Contact)
@bp.doc(parameters=[IF_MATCH])
def contact_update(data: dict[str, Any], enterprise_id: int, contact_id: int):
    """Change a contact; If-Match carries its version (412 stale, 428 missing)."""
    item = _tenant_data(enterprise_id)
    contact = db.session.scalar(select(Contact).where(Contact.id == contact_id,
                                                      Contact.enterprise_id == item.id))
    if contact is None:
        raise ApiError(404, "没有该联系人")
    version = if_match_version()
    values = {**schemas.ContactIn().dump(contact), **data}

    def save() -> Contact:
        check_version(contact, version)
        return enterprises.save_contact(item, values, contact)

    return commit_write(save, lambda c: (schemas.Contact().dump(c), 200, {"ETag": etag(c)}))


# -- annual figures ----------------------------------------------------------------------------

@bp.get("/enterprises/<int(max=2147483647):enterprise_id>/metrics")
@bp.response(200, schemas.Metrics(many=True))
def metrics(enterprise_id: int):
    return get_enterprise_or_404(current_user, enterprise_id).metrics


@bp.put("/enterprises/<int(max=2147483647):enterprise_id>/metrics/<int(max=2147483647):year>")
@bp.arguments(schemas.MetricsIn)
@bp.response(200, schemas.Metrics)
@bp.doc(parameters=[IF_MATCH_ON_FILE])
def metrics_save(data: dict[str, Any], enterprise_id: int, year: int):
    """One fiscal year's full-year figures (元). A year on file needs If-Match (its version)."""
    item = _tenant_data(enterprise_id)
    if not 1980 <= year <= 2100:
        raise ApiError(404, "没有该年度")
    row = db.session.scalar(select(AnnualMetrics).where(
        AnnualMetrics.enterprise_id == item.id, AnnualMetrics.fiscal_year == year))
    version = if_match_version(required=row is not None)
    return commit_write(
        lambda: enterprises.save_metrics(item, year, data, expected_version=version),
        lambda m: (_metrics(m), 200, {"ETag": etag(m)}))


# -- qualifications ----------------------------------------------------------------------------

@bp.get("/enterprises/<int(max=2147483647):enterprise_id>/qualifications")
@bp.response(200, schemas.Qualification(many=True))
def qualifications(enterprise_id: int):
    return ladder.qualifications_of(get_enterprise_or_404(current_user, enterprise_id).id)


@bp.post("/enterprises/<int(max=2147483647):enterprise_id>/qualifications")
@bp.arguments(schemas.QualificationIn)
@bp.response(201, schemas.Qualification)
@bp.doc(parameters=[IDEMPOTENCY_KEY])
def qualification_create(data: dict[str, Any], enterprise_id: int):
    """Record a title held; the rung, history, eligibility and reminders follow."""
    require("can_edit")
    item = _editable(enterprise_id)
    return commit_write(
        lambda: ladder.grant_qualification(
            item, data["kind"], data.get("number"), data["granted_on"], data.get("valid_until"),
            data.get("batch"), source="manual", evidence=data.get("evidence"),
            actor_id=current_user.id),
        lambda q: (schemas.Qualification().dump(q), 201, {"ETag": etag(q)}))


# -- applications ------------------------------------------------------------------------------

@bp.get("/enterprises/<int(max=2147483647):enterprise_id>/applications")
@bp.response(200, schemas.Application(many=True))
def applications(enterprise_id: int):
    item = get_enterprise_or_404(current_user, enterprise_id)
    return db.session.scalars(select(Application).where(Application.enterprise_id == item.id)
                              .order_by(Application.year.desc(), Application.id)).all()


@bp.post("/enterprises/<int(max=2147483647):enterprise_id>/applications")
@bp.arguments(schemas.ApplicationIn)
@bp.response(201, schemas.Application)
@bp.doc(parameters=[IDEMPOTENCY_KEY])
def application_create(data: dict[str, Any], enterprise_id: int):
    require("can_edit")
    item = _editable(enterprise_id)
    return commit_write(
        lambda: ladder.create_application(item, data, actor_id=current_user.id),
        lambda a: (schemas.Application().dump(a), 201, {"ETag": etag(a)}))


def _application_or_404(application_id: int) -> Application:
    application = db.session.get(Application, application_id)
    if application is None:
        raise ApiError(404, "没有该申报")
    get_enterprise_or_404(current_user, application.enterprise_id)
    return application


@bp.get("/applications/<int(max=2147483647):application_id>")
@bp.response(200, schemas.Application)
def application(application_id: int):
    item = _application_or_404(application_id)
    return item, {"ETag": etag(item)}


@bp.patch("/applications/<int(max=2147483647):application_id>")
@bp.arguments(schemas.ApplicationPatch)
@bp.response(200, schemas.Application)
@bp.doc(parameters=[IF_MATCH])
def application_update(data: dict[str, Any], application_id: int):
    """Batch, owner, deadline or notes; If-Match carries its version."""
    require("can_edit")
    item = _application_or_404(application_id)
    _editable(item.enterprise_id)
    version = if_match_version()
    return commit_write(
        lambda: ladder.update_application(item, data, expected_version=version,
                                          actor_id=current_user.id),
        lambda _changes: (schemas.Application().dump(item), 200, {"ETag": etag(item)}))


@bp.post("/applications/<int(max=2147483647):application_id>/moves")
@bp.arguments(schemas.ApplicationMove)
@bp.response(200, schemas.Application)
@bp.doc(parameters=[IF_MATCH, IDEMPOTENCY_KEY])
def application_move(data: dict[str, Any], application_id: int):
    """Move a bid along its pipeline (planned → preparing → submitted → approved/rejected);
    approving records the title in the same step. If-Match carries the bid's version."""
    require("can_edit")
    item = _application_or_404(application_id)
    _editable(item.enterprise_id)
    version = if_match_version()
    return commit_write(
        lambda: ladder.move_application(
            item, data["to_status"], expected_version=version, actor_id=current_user.id,
            note=data.get("note"), number=data.get("number"), granted_on=data.get("granted_on"),
            valid_until=data.get("valid_until")),
        lambda a: (schemas.Application().dump(a), 200, {"ETag": etag(a)}),
        current_version=lambda: db.session.get(Application, application_id).version)


# -- stage history -----------------------------------------------------------------------------

@bp.get("/enterprises/<int(max=2147483647):enterprise_id>/stage-history")
@bp.response(200, schemas.StageStep(many=True))
def stage_history(enterprise_id: int):
    """Every dated move on the ladder and incubation chains, oldest first."""
    item = get_enterprise_or_404(current_user, enterprise_id)
    return db.session.scalars(select(StageTransition).where(
        StageTransition.enterprise_id == item.id)
        .order_by(StageTransition.effective_on, StageTransition.id)).all()


