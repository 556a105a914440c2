"""Periodic tenant reports: reporting cycles, who owes a report, progress and submission."""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from datetime import date
from decimal import Decimal
from typing import Any

from flask_babel import gettext as _
from sqlalchemy import Select, and_, func, or_, select

from tracker.accounts.scope import tenancy_scope
from tracker.audit import services as audit
from tracker.clock import now_utc, today
from tracker.enterprises.models import FULL_YEAR_MONTHS
from tracker.enterprises.services import save_metrics
from tracker.errors import FieldError, check_version
from tracker.extensions import db
from tracker.incubation.models import (
    REPORT_FIELDS,
    REPORT_MONEY_FIELDS,
    ReportingCycle,
    Tenancy,
    TenantReport,
)
from tracker.incubation.services.common import _clean_text


def create_cycle(data: Mapping[str, Any], *, user: Any) -> ReportingCycle:
    """Open a reporting cycle (e.g. 2026年第三季度) with its period and due date."""
    errors: dict[str, str] = {}
    name = _clean_text(data.get("name"))
    start, end, due = data.get("period_start"), data.get("period_end"), data.get("due_on")
    if not name:
        errors["name"] = _("请填写报送周期名称")
    elif db.session.scalar(select(ReportingCycle.id).where(ReportingCycle.name == name)):
        errors["name"] = _("已有同名报送周期")
    if not isinstance(start, date):
        errors["period_start"] = _("请填写统计期起始日")
    if not isinstance(end, date):
        errors["period_end"] = _("请填写统计期截止日")
    elif isinstance(start, date) and end < start:
        errors["period_end"] = _("统计期截止日不能早于起始日")
    if not isinstance(due, date):
        errors["due_on"] = _("请填写报送截止日期")
    elif isinstance(end, date) and due < end:
        errors["due_on"] = _("报送截止日期不能早于统计期截止日")
    fiscal_year = data.get("fiscal_year") or (end.year if isinstance(end, date) else None)
    if fiscal_year and fiscal_year > today().year:
        errors["fiscal_year"] = _("数据年度不能晚于今年")
    if errors:
        raise FieldError(errors)
    cycle = ReportingCycle(name=name, period_start=start, period_end=end, due_on=due,
                           fiscal_year=fiscal_year, created_by_id=getattr(user, "id", None))
    db.session.add(cycle)
    db.session.flush()
    audit.record("reporting_cycle", cycle.id, "create",
                 audit.changed_fields({}, audit.snapshot(cycle, (
                     "name", "period_start", "period_end", "fiscal_year", "due_on"))),
                 summary=name)
    return cycle


def expected_clause(cycle: ReportingCycle | type[ReportingCycle]):
    """Tenancies that owe a report for the cycle: resident at some point in its period.

    Given the ReportingCycle class rather than one cycle, the clause joins tenancies to cycles.
    """
    return and_(Tenancy.moved_in_on <= cycle.period_end,
                or_(Tenancy.ended_on.is_(None), Tenancy.ended_on >= cycle.period_start))


def reports_query(cycle: ReportingCycle, user: Any) -> Select:
    """Tenancies that owe a report for the cycle, within the user's scope, with their report
    outer-joined (filter on TenantReport.id for submitted / missing)."""
    return (select(Tenancy)
            .outerjoin(TenantReport, and_(TenantReport.tenancy_id == Tenancy.id,
                                          TenantReport.cycle_id == cycle.id))
            .where(tenancy_scope(user), expected_clause(cycle)))


def is_late(cycle: ReportingCycle, report: TenantReport | None, on: date | None = None) -> bool:
    """A report is late when none was submitted and the due date has passed."""
    return report is None and (on or today()) > cycle.due_on


def report_progress(cycle: ReportingCycle, user: Any) -> dict[str, int]:
    """Expected / submitted / late counts within the user's scope."""
    return reports_progress([cycle], user)[cycle.id]


def reports_progress(cycles: Sequence[ReportingCycle], user: Any) -> dict[int, dict[str, int]]:
    """report_progress for a page of cycles in one query (cycle id -> counts)."""
    counts: dict[int, tuple[int, int]] = {}
    if cycles:
        rows = db.session.execute(
            select(ReportingCycle.id, func.count(Tenancy.id), func.count(TenantReport.id))
            .join(Tenancy, expected_clause(ReportingCycle))
            .outerjoin(TenantReport, and_(TenantReport.tenancy_id == Tenancy.id,
                                          TenantReport.cycle_id == ReportingCycle.id))
            .where(ReportingCycle.id.in_([c.id for c in cycles]), tenancy_scope(user))
            .group_by(ReportingCycle.id))
        counts = {cycle_id: (expected, submitted) for cycle_id, expected, submitted in rows}
    progress = {}
    for cycle in cycles:
        expected, submitted = counts.get(cycle.id, (0, 0))
        late = expected - submitted if today() > cycle.due_on else 0
        progress[cycle.id] = {"expected": expected, "submitted": submitted, "late": late}
    return progress


def _report_values(values: Mapping[str, Any]) -> dict[str, Any]:
    errors: dict[str, str] = {}
    out: dict[str, Any] = {}
    for key in REPORT_FIELDS:
        value = values.get(key)
        if value is None:
            continue
        if value < 0:
            errors[key] = _("不能为负数")
        out[key] = Decimal(value).quantize(Decimal("0.01")) if key in REPORT_MONEY_FIELDS \
            else int(value)
    if errors:
        raise FieldError(errors)
    if not out:
        raise FieldError({"revenue": _("请至少填写一项数据")})
    return out


def submit_report(cycle: ReportingCycle, tenancy: Tenancy, values: Mapping[str, Any], *,
                  user: Any, expected_version: int | None = None) -> TenantReport:
    """Save a tenant's figures for a cycle (money in 元) and feed them into its annual metrics.

    The figures are year-to-date for the cycle's fiscal year, so they replace that year's
    values in AnnualMetrics (source "tenant_report"); empty fields leave stored values alone.
    """
    if not db.session.scalar(select(Tenancy.id).where(Tenancy.id == tenancy.id,
                                                      expected_clause(cycle))):
        raise FieldError({"tenancy_id": _("该企业在本报送周期内不在孵，无需报送")})
    clean = _report_values(values)
    report = db.session.scalar(select(TenantReport).where(
        TenantReport.cycle_id == cycle.id, TenantReport.tenancy_id == tenancy.id))
    action = "update"
    if report is None:
        report = TenantReport(cycle_id=cycle.id, tenancy_id=tenancy.id)
        db.session.add(report)
        before: dict[str, Any] = {}
        action = "create"
    else:
        check_version(report, expected_version)
        before = audit.snapshot(report, REPORT_FIELDS)
    for key in REPORT_FIELDS:
        setattr(report, key, clean.get(key))
    report.submitted_by_id, report.submitted_at = getattr(user, "id", None), now_utc()
    db.session.flush()
    changes = audit.changed_fields(before, audit.snapshot(report, REPORT_FIELDS))
    if changes:
        audit.record("tenant_report", report.id, action, changes,
                     enterprise_id=tenancy.enterprise_id, actor_id=getattr(user, "id", None),
                     summary=f"{cycle.name} 在孵企业报送")
    save_metrics(tenancy.enterprise, cycle.fiscal_year, clean, source="tenant_report",
                 period_months=covered_months(cycle))
    return report


def covered_months(cycle: ReportingCycle) -> int:
    """Months of its fiscal year a cycle's year-to-date figures cover (12: the full year)."""
    if cycle.period_end.year > cycle.fiscal_year:
        return FULL_YEAR_MONTHS
    return min(max(cycle.period_end.month, 1), FULL_YEAR_MONTHS)
