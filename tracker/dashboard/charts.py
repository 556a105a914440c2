"""The dashboard's charts as plain data: panels of categories and series, each value with the
URL of the list that shows exactly the firms (or tenancies, or reminders) it counts.

Every figure is one SQL aggregate in the user's scope; the page's static script
(static/dashboard.js) draws them with ECharts, the .xlsx export writes the same numbers.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import asdict, dataclass, field
from datetime import date
from typing import Any

from flask import url_for
from flask_babel import gettext as _
from sqlalchemy import case, func, select

from tracker.accounts.roles import Role
from tracker.accounts.scope import (
    carrier_scope,
    counted_tenancies,
    enterprise_scope,
    monthly_count_scope,
)
from tracker.clock import today
from tracker.dashboard import aggregates, drilldown, history, ledger_counts, redo, stays
from tracker.dashboard.models import MonthlyCount
from tracker.dashboard.queries import active_counts
from tracker.enterprises.models import Enterprise
from tracker.extensions import db
from tracker.incubation.models import CARRIER_KINDS, Carrier, Tenancy
from tracker.ladder.models import APPLICATION_STATUSES, Application, Qualification
from tracker.vocabulary import KINDS, TECH_FIELDS, ZONES

#: months the trend chart shows at most (the back-fill may hold more)
TREND_MONTHS = 60
#: finished reporting cycles the workload chart shows
LATE_CYCLES = 6


@dataclass
class Series:
    name: str
    values: list[int | float | None]
    urls: list[str | None]
    stack: str | None = None


@dataclass
class Panel:
    """One drawn chart: `kind` line or bar; `unit` says what a value counts."""

    id: str
    title: str
    kind: str
    categories: list[str]
    series: list[Series] = field(default_factory=list)
    unit: str = ""
    note: str = ""
    horizontal: bool = False
    #: trends: the first month-end (YYYY-MM) still being rewritten after a backdated change
    pending_from: str | None = None


def _list(**params: Any) -> str:
    return url_for("enterprises.index", **params)


def _scoped_firms(user: Any):
    return (enterprise_scope(user), Enterprise.status == "active")


# --- trends --------------------------------------------------------------------------------


def trend_table(user: Any) -> tuple[list[date], dict[tuple[str, str], dict[date, int]]]:
    """Month-ends (stored months, then today) and (measure, key) -> {day: count} in scope."""
    cells = MonthlyCount.__table__.c
    stored = db.session.execute(
        select(MonthlyCount.month, MonthlyCount.measure, MonthlyCount.key,
               func.sum(MonthlyCount.count))
        .where(monthly_count_scope(user, cells))
        .group_by(MonthlyCount.month, MonthlyCount.measure, MonthlyCount.key)).all()
    day = today()
    kept = aggregates.sums(user, "firms")
    if kept is None:
        live = history.cells_on(day, live=True)
    else:  # today's rung cells are the maintained firms per rung: only tenants counted here
        live = history.tenant_cells(day).subquery("cells")
    current = db.session.execute(
        select(live.c.measure, live.c.key, func.sum(live.c.count))
        .where(monthly_count_scope(user, live.c))
        .group_by(live.c.measure, live.c.key)).all()
    if kept is not None:
        rungs: dict[str, int] = {}
        for (rung, _field), n in kept.items():
            if rung is not None and n:
                rungs[rung] = rungs.get(rung, 0) + n
        current = [*(("rung", rung, n) for rung, n in rungs.items()), *current]
    table: dict[tuple[str, str], dict[date, int]] = {}
    # every stored month, whether or not this scope had anything then (one time axis for all)
    months = sorted(m for m in history.stored_months() if m < day)[-TREND_MONTHS:]
    for month, measure, key, n in stored:
        if month in months:
            table.setdefault((measure, key), {})[month] = int(n)
    for measure, key, n in current:
        table.setdefault((measure, key), {})[day] = int(n)
    return [*months, day], table


def _trend_url(user: Any, param: str, code: str, day: date) -> str:
    """The enterprise list as of `day`; a carrier manager's tenants of that day who have
    left since are outside their enterprise scope, so theirs is the carrier's own list."""
    if param == "carrier_kind" and user.role == Role.CARRIER_MANAGER:
        return url_for("incubation.carrier", carrier_id=user.carrier_id, status="all",
                       on=day.isoformat())
    if param == "past_rung" and day == today():
        return _list(rung=code)  # today's point counts the stored rungs, as this list does
    return _list(**{param: code, "on": day.isoformat()})


def trends(user: Any) -> list[Panel]:
    days, table = trend_table(user)
    pending = redo.pending_from(user)
    labels = [d.strftime("%Y-%m") if d != days[-1] else d.isoformat() for d in days]
    panels = []
    for measure, codes, title, param in (
            ("rung", KINDS, _("各梯度企业数（月末）"), "past_rung"),
            ("carrier_kind", CARRIER_KINDS, _("各类载体在孵企业数（月末）"), "carrier_kind")):
        series = []
        for code, label in codes.items():
            counts = table.get((measure, code), {})
            if not counts:
                continue
            series.append(Series(
                _(label), [counts.get(d, 0) for d in days],
                [_trend_url(user, param, code, d) for d in days]))
        if series:
            note = _("各月末的企业数（按当日所处最高梯度 / 当日在孵）；末点为今日")
            if pending is not None:  # a bulk change reached back: a worker is rewriting
                note += _("；%(month)s 起的月末数因补录的变更正在重算", month=f"{pending:%Y-%m}")
            panels.append(Panel(f"trend-{measure}", title, "line", labels, series,
                                unit=_("家"), note=note,
                                pending_from=f"{pending:%Y-%m}" if pending else None))
    return panels


# --- funnel --------------------------------------------------------------------------------


def funnel(user: Any) -> list[Panel]:
    scope = enterprise_scope(user)
    # the maintained per-zone cohorts when current, else the history's own query
    counts = aggregates.funnel_counts(user)
    if counts is None:
        counts = history.funnel_counts(scope)
    years = [y for y in sorted(counts) if y <= today().year][-6:]
    categories = [str(y) for y in years]
    series = [Series(_("当年登记科技型中小企业"), [counts[y]["registered"] for y in years],
                     [_list(tsme_year=y) for y in years])]
    for k in history.FUNNEL_YEARS:
        series.append(Series(_("%(n)s年内成为高企", n=k), [counts[y][str(k)] for y in years],
                             [_list(tsme_year=y, hnte_within=k) for y in years]))
    panels = [Panel("funnel-cohorts", _("科技型中小企业 → 国家高新技术企业"), "bar",
                    categories, series, unit=_("家"),
                    note=_("按登记年度分组；近年队列尚未满期"))]
    medians = stays.median_stays(user)
    if medians is None:
        medians = history.median_stays(scope)
    codes = [c for c in KINDS if c in medians]
    # a median is a length, not a set of firms: it has no list behind it
    panels.append(Panel(
        "funnel-stays", _("各梯度停留时间中位数"), "bar",
        [_("%(rung)s（%(n)s次）", rung=_(KINDS[c]), n=medians[c][1]) for c in codes],
        [Series(_("中位数（天）"), [medians[c][0] for c in codes], [None for _c in codes])],
        unit=_("天"), note=_("按梯度历程计算，只计已结束的停留；括号内为停留次数")))
    return panels


# --- zones ---------------------------------------------------------------------------------


def _matrix(user: Any, counts_by: dict[tuple[Any, Any], int], codes: dict[str, str],
            param: str, panel_id: str, title: str) -> Panel:
    counts = {key: n for key, n in counts_by.items() if key[0] is not None}
    present = [c for c in codes if any(a == c for a, _r in counts)]
    series = []
    for rung, label in [*KINDS.items(), (None, "未入库")]:
        values = [counts.get((c, rung), 0) for c in present]
        if not any(values):
            continue
        series.append(Series(_(label), values,
                             [_list(**{param: c, "rung": rung or "none"}) for c in present],
                             stack="rung"))
    labels = [_(codes[c][0]) if isinstance(codes[c], tuple) else _(codes[c]) for c in present]
    return Panel(panel_id, title, "bar", labels, series, unit=_("家"),
                 note=_("按企业当前最高梯度"))


def zones(user: Any) -> list[Panel]:
    """Both matrices from one index-only GROUP BY (dashboard.queries.active_counts)."""
    by_zone: dict[tuple[Any, Any], int] = {}
    by_field: dict[tuple[Any, Any], int] = {}
    for (zone, rung, field_), n in active_counts(user).items():
        by_zone[(zone, rung)] = by_zone.get((zone, rung), 0) + n
        by_field[(field_, rung)] = by_field.get((field_, rung), 0) + n
    return [
        _matrix(user, by_zone, ZONES, "zone", "zones-rung", _("区域 × 梯度")),
        _matrix(user, by_field, TECH_FIELDS, "tech_field", "fields-rung", _("技术领域 × 梯度")),
    ]


# --- incubation ----------------------------------------------------------------------------


#: carriers drawn at most in the incubation charts: those with the most tenants in incubation
#: (a province has thousands; every carrier stays on the carriers list)
CHART_CARRIERS = 20


def incubation(user: Any) -> list[Panel]:
    from tracker.incubation.models import TENANCY_STATUSES
    from tracker.incubation.services import graduated_then_hnte

    ended = Tenancy.status.in_([s for s in TENANCY_STATUSES if s != "incubating"])
    incubating = func.sum(case((Tenancy.status == "incubating", 1), else_=0))
    busiest = db.session.execute(
        select(Carrier.id, Carrier.name, Carrier.area_m2, incubating,
               func.sum(case((Tenancy.status == "incubating", Tenancy.area_m2), else_=0)),
               func.sum(case((Tenancy.status == "graduated", 1), else_=0)),
               func.sum(case((ended, 1), else_=0)),
               func.sum(case((graduated_then_hnte(), 1), else_=0)),
               func.count().over())
        .outerjoin(Tenancy, (Tenancy.carrier_id == Carrier.id) & counted_tenancies(user))
        .where(carrier_scope(user), Carrier.archived.is_(False))
        .group_by(Carrier.id, Carrier.name, Carrier.area_m2)
        .order_by(incubating.desc(), Carrier.name, Carrier.id).limit(CHART_CARRIERS)).all()
    rows = sorted(busiest, key=lambda r: (r[1], r[0]))
    total = rows[0][8] if rows else 0
    shown = (_("在孵企业最多的 %(shown)d 个载体（共 %(total)d 个，全部见载体列表）",
               shown=len(rows), total=total) if total > len(rows) else "")
    names = [r[1] for r in rows]

    def carrier_url(carrier_id: int, **params: Any) -> str:
        return url_for("incubation.carrier", carrier_id=carrier_id, **params)

    counts = Panel("incubation-tenants", _("各载体在孵与毕业企业"), "bar", names, [
        Series(_("在孵"), [int(r[3] or 0) for r in rows],
               [carrier_url(r[0], status="incubating") for r in rows]),
        Series(_("已毕业"), [int(r[5] or 0) for r in rows],
               [carrier_url(r[0], status="graduated") for r in rows]),
        Series(_("毕业后认定为高企"), [int(r[7] or 0) for r in rows],
               [carrier_url(r[0], status="graduated", later_hnte=1) for r in rows]),
    ], unit=_("条入驻记录"), horizontal=True, note=shown)

    def pct(part: Any, whole: Any) -> float | None:
        return round(100.0 * float(part or 0) / float(whole), 1) if whole else None

    rates = Panel("incubation-rates", _("场地使用率与毕业率"), "bar", names, [
        Series(_("场地使用率 %"), [pct(r[4], r[2]) for r in rows],
               [carrier_url(r[0], status="incubating") for r in rows]),
        Series(_("毕业率 %（毕业 / 已结束）"), [pct(r[5], r[6]) for r in rows],
               [carrier_url(r[0], status="graduated") for r in rows]),
    ], unit="%", horizontal=True,
        note=" ".join(filter(None, [_("使用率 = 在孵企业租用面积 / 载体孵化面积"), shown])))
    return [counts, rates]


# --- workload ------------------------------------------------------------------------------


def expiring_live(user: Any) -> dict[str, int]:
    """Active firms in scope with a title valid today ending in each month shown, counted from
    the titles (the maintained figures' straightforward query, and the fallback)."""
    day = today()
    months, window_end = aggregates.expiry_months(day)
    expiring = []
    for month in months:
        first, last = drilldown.month_bounds(month)
        expiring.append(func.count(func.distinct(case(
            (drilldown.expiring_clause(first, last), Qualification.enterprise_id)))))
    # every column counts titles whose validity ends inside the window: read only those off
    # the valid_until index, not every firm's titles
    row = db.session.execute(
        select(*expiring).join(Enterprise, Enterprise.id == Qualification.enterprise_id)
        .where(*_scoped_firms(user), Qualification.valid_until >= day,
               Qualification.valid_until <= window_end)).one()
    return {month: int(n) for month, n in zip(months, row, strict=True)}


def applications_live(user: Any) -> dict[str, int]:
    """Active firms in scope with an application in each status, counted from the
    applications (the maintained figures' straightforward query, and the fallback)."""
    return dict(db.session.execute(
        select(Application.status, func.count(func.distinct(Application.enterprise_id)))
        .join(Enterprise, Enterprise.id == Application.enterprise_id)
        .where(*_scoped_firms(user)).group_by(Application.status)).all())


def workload(user: Any) -> list[Panel]:
    """Expiring titles, the ledger and the applications from the maintained figures when
    current (tracker.dashboard.aggregates, ledger_counts), else from the plain queries."""
    from tracker.incubation import services as incubation_services
    from tracker.incubation.models import ReportingCycle
    from tracker.reminders.models import STATUSES

    day = today()
    months = aggregates.expiry_months(day)[0]
    kept = aggregates.expiring(user)
    counts = expiring_live(user) if kept is None else kept
    row = [counts.get(month, 0) for month in months]
    panels = [Panel("workload-expiring", _("未来12个月证书到期企业数"), "bar", months, [
        Series(_("到期企业"), [int(n) for n in row], [_list(expiring=m) for m in months])],
        unit=_("家"))]

    reminders = ledger_counts.reminder_counts(user)
    shown = [s for s in STATUSES if reminders.get(s)]
    panels.append(Panel("workload-reminders", _("提醒发送情况"), "bar",
                        [_(STATUSES[s]) for s in shown], [
                            Series(_("提醒"), [reminders[s] for s in shown],
                                   [url_for("reminders.ledger", status=s) for s in shown])],
                        unit=_("条"), note=reminders.note()))

    cycles = list(db.session.scalars(
        select(ReportingCycle).where(ReportingCycle.due_on < day)
        .order_by(ReportingCycle.due_on.desc()).limit(LATE_CYCLES)))[::-1]
    progress = incubation_services.reports_progress(cycles, user)
    panels.append(Panel("workload-reports", _("逾期未报的在孵企业报表"), "bar",
                        [c.name for c in cycles], [
                            Series(_("逾期未报"), [progress[c.id]["late"] for c in cycles],
                                   [url_for("incubation.cycle", cycle_id=c.id, late=1)
                                    for c in cycles])], unit=_("家")))

    apps = aggregates.applications(user)
    if apps is None:
        apps = applications_live(user)
    codes = [s for s in APPLICATION_STATUSES if apps.get(s)]
    panels.append(Panel("workload-applications", _("申报按状态（企业数）"), "bar",
                        [_(APPLICATION_STATUSES[s]) for s in codes], [
                            Series(_("企业"), [apps[s] for s in codes],
                                   [_list(application_status=s) for s in codes])],
                        unit=_("家")))
    return panels


CHARTS: dict[str, tuple[str, Callable[[Any], list[Panel]]]] = {
    "trends": ("趋势", trends),
    "funnel": ("梯度漏斗", funnel),
    "zones": ("区域与领域", zones),
    "incubation": ("孵化载体", incubation),
    "workload": ("工作量", workload),
}


def payload(name: str, user: Any) -> list[dict[str, Any]]:
    """The chart's panels as JSON-ready dicts (plain data, cacheable per scope)."""
    return [asdict(panel) for panel in CHARTS[name][1](user)]
