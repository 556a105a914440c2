"""The indicator page's figures and the edits to them, shared by the pages and the workbook.

Computed indicators come from the dashboard's scoped SQL aggregates (one query for the titles,
one for the carriers), entered ones from the yearly figures staff record. Every change to a
target, a period's source or a yearly figure is validated here and audited; services flush,
the request edge commits.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date
from decimal import Decimal, InvalidOperation
from typing import Any

from sqlalchemy import select

from tracker.accounts.roles import GLOBAL_READ_ROLES, Role
from tracker.audit import services as audit
from tracker.audit.models import AuditEvent
from tracker.clock import today
from tracker.dashboard import queries
from tracker.errors import FieldError
from tracker.extensions import db
from tracker.indicators import catalogue
from tracker.indicators import status as rules
from tracker.indicators.models import IndicatorValue, PlanIndicator, PlanPeriod, PlanTarget

#: roles that read the indicator page (zone staff see the zone-scoped figures of their zone)
READ_ROLES = GLOBAL_READ_ROLES | {Role.ZONE}
#: roles that enter yearly figures, targets and a period's source document
EDIT_ROLES = frozenset({Role.ADMIN, Role.BUREAU})
#: the largest figure a field accepts (Numeric(18, 4) holds 10^14)
MAX_FIGURE = Decimal(10) ** 12


def may_read(user: Any) -> bool:
    return getattr(user, "role", None) in READ_ROLES


def may_edit(user: Any) -> bool:
    return getattr(user, "role", None) in EDIT_ROLES


def district_wide(user: Any) -> bool:
    """Whether the user's figures are the whole district's (targets are district-wide)."""
    return getattr(user, "role", None) in GLOBAL_READ_ROLES


# --- periods -----------------------------------------------------------------------------

def periods() -> list[PlanPeriod]:
    return list(db.session.scalars(select(PlanPeriod).order_by(PlanPeriod.start_year)))


def current_period(day: date | None = None) -> PlanPeriod | None:
    """The period containing `day`'s year, else the latest one that started before it."""
    year = (day or today()).year
    candidates = periods()
    for period in candidates:
        if period.start_year <= year <= period.end_year:
            return period
    started = [p for p in candidates if p.start_year <= year]
    return started[-1] if started else (candidates[0] if candidates else None)


def measured_on(period: PlanPeriod, day: date | None = None) -> date:
    """The date the period's computed figures are counted on: today, or its last day if over."""
    day = day or today()
    return min(day, date(period.end_year, 12, 31))


# --- the report --------------------------------------------------------------------------

@dataclass(frozen=True)
class Line:
    """One indicator in one period as the page, the card and the workbook show it."""

    indicator_id: int
    code: str
    group: str
    label: str
    unit: str
    method: str
    basis: str
    decimals: int
    #: counted in the user's zone (False: a district-wide figure)
    zone_scoped: bool
    target: Decimal | None
    target_note: str | None
    baseline: Decimal | None
    actual: Decimal | None
    #: the year the actual figure is of
    actual_year: int | None
    source: str | None
    progress: Decimal | None
    status: rules.Status
    met: bool | None
    target_id: int


@dataclass(frozen=True)
class Report:
    period_id: int
    period_name: str
    start_year: int
    end_year: int
    closed: bool
    confirmed: bool
    source: str | None
    measured_on: date
    #: False for zone staff: their computed figures are their zone's, compared with no target
    district_wide: bool
    lines: list[Line]

    def groups(self) -> list[tuple[str, list[Line]]]:
        """Lines grouped as the plan groups them, in the plan's order."""
        return [(label, [line for line in self.lines if line.group == code])
                for code, label in catalogue.GROUPS.items()
                if any(line.group == code for line in self.lines)]


def computed_figures(user: Any, on: date) -> dict[str, int]:
    """The computed indicators' figures in the user's scope on `on` (two SQL aggregates)."""
    holders = queries.holders_by_kind(user, on)
    figures = {code: holders.get(code, 0)
               for code in ("hnte", "tech_sme", "chuying", "dengling", "leader_any")}
    figures.update(queries.national_carriers(user))
    return figures


def _latest_entered(first_year: int, last_year: int) -> dict[int, IndicatorValue]:
    """Each entered indicator's latest figure within the years (one query)."""
    rows = db.session.scalars(
        select(IndicatorValue)
        .where(IndicatorValue.year >= first_year, IndicatorValue.year <= last_year)
        .order_by(IndicatorValue.indicator_id, IndicatorValue.year.desc()))
    latest: dict[int, IndicatorValue] = {}
    for row in rows:
        latest.setdefault(row.indicator_id, row)
    return latest


def source_text(period: PlanPeriod) -> str | None:
    parts = [p for p in (period.source_title, period.source_number) if p]
    if not parts:
        return None
    issued = f"（{period.source_date.isoformat()}）" if period.source_date else ""
    return "　".join(parts) + issued


def report(user: Any, period: PlanPeriod, day: date | None = None) -> Report:
    """Actual, target, baseline, progress and status of every indicator of `period`."""
    on = measured_on(period, day)
    wide = district_wide(user)
    computed = computed_figures(user, on)
    entered = _latest_entered(period.start_year, on.year)
    rows = db.session.execute(
        select(PlanTarget, PlanIndicator).join(PlanIndicator)
        .where(PlanTarget.period_id == period.id)
        .order_by(PlanIndicator.position, PlanIndicator.id)).all()
    lines = []
    for target_row, indicator in rows:
        zone_scoped = not wide and indicator.code in catalogue.ZONE_SCOPED
        if indicator.method == "computed":
            actual = Decimal(computed.get(indicator.code, 0))
            year, source = on.year, f"系统记录，截至{on.isoformat()}"
        else:
            value = entered.get(indicator.id)
            actual = value.value if value else None
            year = value.year if value else None
            source = value.source if value else None
        # A zone's count measured against the district's target would mislead.
        target = None if zone_scoped else target_row.target
        baseline = None if zone_scoped else target_row.baseline
        lower = indicator.lower_is_better
        lines.append(Line(
            indicator.id, indicator.code, indicator.group, indicator.label, indicator.unit,
            indicator.method, indicator.basis, indicator.decimals, zone_scoped, target,
            None if zone_scoped else target_row.target_note, baseline, actual, year, source,
            rules.progress(actual, target, baseline, lower_is_better=lower),
            rules.status(actual, target, baseline, base_year=period.baseline_year,
                         end_year=period.end_year, year=year or on.year,
                         lower_is_better=lower),
            rules.met(actual, target, lower_is_better=lower), target_row.id))
    return Report(period.id, period.name, period.start_year, period.end_year, period.closed,
                  period.confirmed, source_text(period), on, wide, lines)


# --- edits -------------------------------------------------------------------------------

def parse_figure(raw: Any, indicator: PlanIndicator, field: str, *, required: bool = True
                 ) -> Decimal | None:
    """A figure typed for `indicator`: a finite number in its unit, within its decimals.

    Percentages lie in 0–100; counts are whole numbers; nothing is negative.
    """
    text = "" if raw is None else str(raw).strip().replace(",", "")
    if not text:
        if required:
            raise FieldError({field: "请填写数值"})
        return None
    try:
        value = Decimal(text)
    except InvalidOperation:
        raise FieldError({field: "请填写数字"}) from None
    if not value.is_finite() or value < 0 or value > MAX_FIGURE:
        raise FieldError({field: f"数值应在 0–{MAX_FIGURE:,} 之间"})
    if indicator.unit == "%" and value > 100:
        raise FieldError({field: "百分比应在 0–100 之间"})
    if value != value.quantize(Decimal(1).scaleb(-max(indicator.decimals, 0))):
        if indicator.decimals == 0:
            raise FieldError({field: f"单位为“{indicator.unit}”，应为整数"})
        raise FieldError({field: f"最多保留 {indicator.decimals} 位小数"})
    return value


def _check_source(source: Any, field: str = "source", *, limit: int = 200) -> str:
    text = (source or "").strip() if isinstance(source, str) else ""
    if not text or len(text) > limit:
        raise FieldError({field: f"请填写来源（{limit} 字以内）"})
    return text


VALUE_FIELDS = ("year", "value", "source")


def save_value(indicator: PlanIndicator, period: PlanPeriod, year: Any, value: Any,
               source: Any, *, record: IndicatorValue | None = None,
               actor_id: int | None = None, day: date | None = None) -> IndicatorValue:
    """Record (or correct, `record`) an entered indicator's figure for a year; audited.

    The year must lie within the period and not in the future; one figure per indicator and
    year (a second one is a correction of the first, made on its own edit page).
    """
    if indicator.method != "entered":
        raise FieldError({"value": "该指标由系统按记录计算，不能录入"})
    errors: dict[str, str] = {}
    this_year = (day or today()).year
    last = min(period.end_year, this_year)
    if not isinstance(year, int) or not period.start_year <= year <= last:
        errors["year"] = (f"年度应在 {period.start_year}–{last} 之间"
                          f"（{period.name}期内、不晚于今年）")
    try:
        figure = parse_figure(value, indicator, "value")
    except FieldError as exc:
        errors.update(exc.errors)
    try:
        text = _check_source(source)
    except FieldError as exc:
        errors.update(exc.errors)
    if not errors:
        clash = db.session.scalar(select(IndicatorValue.id).where(
            IndicatorValue.indicator_id == indicator.id, IndicatorValue.year == year))
        if clash is not None and (record is None or clash != record.id):
            errors["year"] = f"{year}年已有数值，请在历史记录中修改该条"
    if errors:
        raise FieldError(errors)
    if record is None:
        record = IndicatorValue(indicator_id=indicator.id, entered_by_id=actor_id)
        db.session.add(record)
        before: dict[str, Any] = {}
        action = "create"
    else:
        before = audit.snapshot(record, VALUE_FIELDS)
        record.entered_by_id = actor_id
        action = "update"
    record.year, record.value, record.source = year, figure, text
    db.session.flush()
    audit.record("indicator_value", record.id, action,
                 audit.changed_fields(before, audit.snapshot(record, VALUE_FIELDS)),
                 actor_id=actor_id, summary=f"{indicator.label} {year}")
    return record


TARGET_FIELDS = ("target", "target_note", "baseline")


def save_target(target: PlanTarget, values: dict[str, Any], *, actor_id: int | None = None
                ) -> PlanTarget:
    """Set an indicator's target, its note and baseline in an open period; audited."""
    if target.period.closed:
        raise FieldError({"target": "该规划期已结束，目标不再修改"})
    indicator = target.indicator
    errors: dict[str, str] = {}
    parsed: dict[str, Any] = {}
    for name in ("target", "baseline"):
        try:
            parsed[name] = parse_figure(values.get(name), indicator, name, required=False)
        except FieldError as exc:
            errors.update(exc.errors)
    note = values.get("target_note")
    note = note.strip() if isinstance(note, str) else ""
    if len(note) > 100:
        errors["target_note"] = "说明应在 100 字以内"
    if errors:
        raise FieldError(errors)
    parsed["target_note"] = note or None
    changes = audit.apply_changes(target, parsed, TARGET_FIELDS)
    db.session.flush()
    if changes:
        audit.record("plan_target", target.id, "update", changes, actor_id=actor_id,
                     summary=f"{target.period.name} {indicator.label}")
    return target


SOURCE_FIELDS = ("source_title", "source_number", "source_date")


def record_source(period: PlanPeriod, values: dict[str, Any], *, actor_id: int | None = None
                  ) -> PlanPeriod:
    """Record the plan document (title, number, date): the period's targets become confirmed."""
    errors: dict[str, str] = {}
    title = values.get("source_title")
    title = title.strip() if isinstance(title, str) else ""
    if not title or len(title) > 200:
        errors["source_title"] = "请填写文件标题（200 字以内）"
    number = values.get("source_number")
    number = number.strip() if isinstance(number, str) else ""
    if len(number) > 100:
        errors["source_number"] = "文号应在 100 字以内"
    issued = values.get("source_date")
    if not isinstance(issued, date) or not 2000 <= issued.year <= period.end_year:
        errors["source_date"] = f"请填写发布日期（2000–{period.end_year}年）"
    if errors:
        raise FieldError(errors)
    changes = audit.apply_changes(
        period, {"source_title": title, "source_number": number or None, "source_date": issued},
        SOURCE_FIELDS)
    db.session.flush()
    if changes:
        audit.record("plan_period", period.id, "update", changes, actor_id=actor_id,
                     summary=f"{period.name} 依据文件")
    return period


def previous_final(user: Any, target: PlanTarget, day: date | None = None) -> Decimal | None:
    """The final figure of the period before `target`'s, for its baseline (None if unknown).

    District-wide figures only: a zone's count is no baseline for the district's target.
    """
    if not district_wide(user):
        return None
    before = [p for p in periods() if p.end_year < target.period.start_year]
    if not before:
        return None
    lines = report(user, before[-1], day).lines
    line = next((x for x in lines if x.indicator_id == target.indicator_id), None)
    if line is None or line.actual_year != before[-1].end_year:
        return None
    return line.actual


# --- history -----------------------------------------------------------------------------

def values_of(indicator: PlanIndicator) -> list[IndicatorValue]:
    return list(db.session.scalars(
        select(IndicatorValue).where(IndicatorValue.indicator_id == indicator.id)
        .order_by(IndicatorValue.year.desc())))


def history(entity_type: str, ids: list[int]) -> list[AuditEvent]:
    """The audit events of these records, newest first."""
    if not ids:
        return []
    return list(db.session.scalars(
        select(AuditEvent).where(AuditEvent.entity_type == entity_type,
                                 AuditEvent.entity_id.in_(ids))
        .order_by(AuditEvent.at.desc(), AuditEvent.id.desc())))


# --- the leadership workbook -------------------------------------------------------------

SHEET_TITLE = "规划指标"
SHEET_HEADERS = (("规划期", 16), ("指标分组", 14), ("指标", 34), ("单位", 8), ("基数", 12),
                 ("目标", 12), ("目标说明", 18), ("实际", 12), ("实际年度", 10),
                 ("进度（%）", 10), ("状态", 10), ("是否完成", 10), ("口径", 50), ("来源", 40))


def _cell(value: Decimal | None, decimals: int) -> Decimal | None:
    return None if value is None else value.quantize(Decimal(1).scaleb(-decimals))


def sheet_rows(user: Any, day: date | None = None) -> list[list[Any]]:
    """Every period's indicators as the page shows them to `user`, labels only (no codes)."""
    if not may_read(user):
        return []
    rows = []
    for period in periods():
        report_ = report(user, period, day)
        state = "已结束" if period.closed else ("目标已确认" if period.confirmed else "目标未确认")
        name = f"{period.name}（{period.start_year}–{period.end_year}，{state}）"
        for line in report_.lines:
            met_text = {True: "已完成", False: "未完成", None: ""}[line.met]
            rows.append([
                name, catalogue.GROUPS.get(line.group, ""), line.label, line.unit,
                _cell(line.baseline, line.decimals), _cell(line.target, line.decimals),
                line.target_note or "", _cell(line.actual, line.decimals), line.actual_year,
                line.progress, rules.STATUS_LABELS[line.status],
                met_text if period.closed else "",
                line.basis + ("（本区域）" if line.zone_scoped else ""), line.source or "",
            ])
    return rows
