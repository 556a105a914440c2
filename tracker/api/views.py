"""The /api/v1 blueprint: eligibility, dashboard indicators, reminders, and the docs page."""

from __future__ import annotations

from datetime import date
from typing import Any

from flask import Blueprint as Blueprint_
from flask import render_template, request
from flask_login import current_user
from flask_smorest import Blueprint
from sqlalchemy import select

from tracker.accounts.roles import GLOBAL_READ_ROLES
from tracker.api import schemas
from tracker.api.errors import ApiError
from tracker.clock import today
from tracker.extensions import db
from tracker.inputs import BadJson, json_body
from tracker.messages import Message
from tracker.pagination import SortKey, keyset_page, requested_size

bp = Blueprint("api", __name__, url_prefix="/api/v1",
               description="Firms, their figures, titles and bids; eligibility; indicators")


def require(permission: str) -> None:
    """403 in the error shape unless the caller's role has `permission` (a User property)."""
    if not getattr(current_user, permission, False):
        raise ApiError(403, "您的角色无权进行此操作")


@bp.post("/eligibility/evaluate")
@bp.doc(requestBody={"required": True, "content": {"application/json": {"schema": {
    "type": "object", "description": "facts as in eligibility.md (as_of, enterprise, years)"}}}},
    responses={"200": {"description": "the verdict of every rung, with reasons",
                       "content": {"application/json": {"schema": {"type": "object"}}}}})
def eligibility_evaluate():
    """eligibility.md over HTTP: 200 with the result, 422 with field errors. Stores nothing."""
    from tracker.ladder.results import evaluate_facts
    from tracker.ladder.rules import FactsError

    if not request.is_json:
        raise ApiError(415, "请求须为 Content-Type: application/json")
    try:
        facts = json_body()
    except BadJson as exc:
        if exc.too_deep:
            raise ApiError(400, Message("请求体嵌套过深：%(detail)s", detail=str(exc))) from None
        raise ApiError(422, "请求体不是有效的 JSON", code="invalid_facts",
                       fields={"_body": str(exc)}) from None
    try:
        return evaluate_facts(facts)
    except FactsError as exc:
        fields: dict[str, str] = {}
        for problem in exc.errors:  # one field may have several problems: keep them all
            name = problem.get("field") or "_body"
            message = problem.get("message", "")
            fields[name] = f"{fields[name]}; {message}" if name in fields else message
        raise ApiError(422, "事实数据有误", code="invalid_facts", fields=fields) from None


# -- dashboard indicators ----------------------------------------------------------------------

def indicators(user: Any, year: int | None = None) -> dict[str, Any]:
    """What the dashboard shows, as figures; the plan lines are the plan period's indicators
    (the period containing `year`, else the current one) as the indicator page reports them."""
    from tracker.dashboard import queries
    from tracker.incubation.services import dashboard_counts
    from tracker.indicators import services as plan_indicators

    on = today()
    plan = []
    if user.role in GLOBAL_READ_ROLES:  # area-wide targets mean nothing against one zone
        period = plan_indicators.current_period(date(year, 1, 1) if year else None)
        if period is not None:
            report = plan_indicators.report(user, period)
            plan = [{"metric": line.code, "label": line.label, "year": period.end_year,
                     "current": line.actual, "target": line.target,
                     "baseline": line.baseline, "source": report.source}
                    for line in report.lines]
    return {"as_of": on,
            "enterprises_by_zone": queries.enterprises_by_zone(user),
            "enterprises_by_rung": {rung or "none": n
                                    for rung, n in queries.enterprises_by_rung(user).items()},
            "incubation": dashboard_counts(user, on), "plan": plan}


@bp.get("/dashboard/indicators")
@bp.arguments(schemas.IndicatorArgs, location="query", as_kwargs=True)
@bp.response(200, schemas.Indicators)
def dashboard_indicators(year: int | None = None):
    """The dashboard's figures within the caller's scope; the plan period's indicators for
    area-wide roles (`year`: the period containing it; default the current period)."""
    return indicators(current_user, year)


# -- reminders (read) --------------------------------------------------------------------------

@bp.get("/reminders")
@bp.arguments(schemas.ReminderArgs, location="query", as_kwargs=True)
@bp.response(200, schemas.page_of(schemas.Reminder, "ReminderList"))
def reminders(**args: Any):
    """Reminders about firms in the caller's scope, newest first; filter by status or firm."""
    from tracker.accounts.scope import reminder_scope
    from tracker.reminders.models import Reminder

    query = select(Reminder).where(reminder_scope(current_user))
    if args.get("status"):
        query = query.where(Reminder.status == args["status"])
    if args.get("enterprise_id") is not None:
        query = query.where(Reminder.enterprise_id == args["enterprise_id"])
    page = keyset_page(db.session, query, [SortKey(Reminder.id, descending=True, kind="int")],
                       size=requested_size(), after=args.get("after"))
    return {"items": page.items, "next": page.next_cursor}


# -- the documentation page --------------------------------------------------------------------

#: a plain Flask blueprint: the page is not an operation of the API it documents
docs_bp = Blueprint_("api_docs_page", __name__, url_prefix="/api/v1")


@docs_bp.get("/docs")
def docs():
    """Swagger UI over /api/v1/openapi.json, every file served from here (no CDN)."""
    return render_template("api/docs.html")
