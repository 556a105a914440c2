"""Writing the incubation chain: carriers, tenancies, status proposals and tenant reports.

Services flush; the caller (view, task, CLI, import) commits once. Every change is audited.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from datetime import date, timedelta
from decimal import Decimal
from typing import Any

from flask_babel import gettext
from flask_babel import gettext as _
from sqlalchemy import Select, and_, exists, func, or_, select

from tracker.accounts.roles import EDITOR_ROLES, Role
from tracker.accounts.scope import carrier_scope, counted_tenancies, tenancy_scope
from tracker.audit import services as audit
from tracker.clock import now_utc, today
from tracker.enterprises.models import FULL_YEAR_MONTHS, AnnualMetrics, Enterprise
from tracker.enterprises.services import save_metrics
from tracker.enterprises.zones import ZONES
from tracker.errors import FieldError as FieldError  # re-exported for views
from tracker.errors import StaleEdit as StaleEdit
from tracker.errors import check_version
from tracker.extensions import db
from tracker.incubation import criteria
from tracker.incubation.models import (
    ACTION_STATUS,
    CARRIER_KINDS,
    CARRIER_SCHEMES,
    GRADUATION_BASES,
    PROPOSAL_ACTIONS,
    REPORT_FIELDS,
    REPORT_MONEY_FIELDS,
    TENANCY_STATUSES,
    Carrier,
    ReportingCycle,
    StatusProposal,
    Tenancy,
    TenantReport,
)
from tracker.ladder import rules
from tracker.ladder.facts import build_facts
from tracker.ladder.models import Qualification, StageTransition
from tracker.ladder.services import qualifications_of
from tracker.messages import Message

__all__ = [
    "FieldError", "StaleEdit", "open_tenancy", "entry_warnings", "default_term_end",
    "update_tenancy", "save_carrier", "propose", "approve", "close_tenancy", "reject", "withdraw",
    "create_cycle", "submit_report", "graduation_facts", "carrier_stats", "carrier_check",
    "forget_stay", "redate_entry", "forget_closing",
]

CARRIER_FIELDS = (
    "name", "kind", "scheme", "operator", "zone", "address", "area_m2", "workstations",
    "recognised_on", "default_term_months", "specialised", "archived",
)
TENANCY_FIELDS = (
    "enterprise_id", "carrier_id", "moved_in_on", "term_ends_on", "term_override_reason",
    "status", "ended_on", "graduation_basis", "graduation_evidence", "end_reason", "area_m2",
    "previous_tenancy_id", "source",
)
#: what a carrier manager (or officer) may change on a tenancy: the move-in details
TENANCY_EDITABLE = ("moved_in_on", "term_ends_on", "term_override_reason", "area_m2")
PROPOSAL_FIELDS = (
    "tenancy_id", "action", "effective_on", "graduation_basis", "evidence", "reason",
    "next_carrier_id", "next_carrier_note", "status", "decision_comment", "new_tenancy_id",
)
#: a graduate counts as such whether it stayed put or moved on with a graduation basis
GRADUATE_CLAUSE = or_(
    Tenancy.status == "graduated",
    and_(Tenancy.status == "moved_on", Tenancy.graduation_basis.is_not(None)),
)


def _clean_text(value: Any) -> str | None:
    if value is None:
        return None
    return str(value).strip() or None


# --------------------------------------------------------------------------------------------
# Carriers
# --------------------------------------------------------------------------------------------


def save_carrier(data: Mapping[str, Any], carrier: Carrier | None = None, *,
                 expected_version: int | None = None) -> Carrier:
    """Create or update a carrier record, refusing bad values with field-named messages."""
    values = {k: data[k] for k in CARRIER_FIELDS if k in data}
    for key in ("name", "operator", "address"):
        if key in values:
            values[key] = _clean_text(values[key])
    errors: dict[str, str] = {}
    if not values.get("name") and (carrier is None or "name" in values):
        errors["name"] = _("请填写载体名称")
    if ("kind" in values or carrier is None) and values.get("kind") not in CARRIER_KINDS:
        errors["kind"] = _("请选择载体类型")
    if values.get("zone") and values["zone"] not in ZONES:
        errors["zone"] = _("请选择所属区域")
    if values.get("scheme", "none") not in CARRIER_SCHEMES:
        errors["scheme"] = _("请选择认定体系")
    for key, label in (("area_m2", "孵化场地面积"), ("workstations", "创业工位数")):
        if values.get(key) is not None and values[key] < 0:
            errors[key] = _("%(label)s不能为负数", label=label)
    months = values.get("default_term_months")
    if months is not None and not 1 <= months <= 120:
        errors["default_term_months"] = _("默认孵化期限应在 1–120 个月之间")
    if "default_term_months" in values and months is None:
        values["default_term_months"] = criteria.ENTRY_RULES["max_term_months"]
    if values.get("name"):
        clash = select(Carrier.id).where(Carrier.name == values["name"])
        if carrier is not None:
            clash = clash.where(Carrier.id != carrier.id)
        if db.session.scalar(clash):
            errors["name"] = _("已有同名载体")
    if errors:
        raise FieldError(errors)
    if carrier is None:
        carrier = Carrier(**values)
        db.session.add(carrier)
        db.session.flush()
        audit.record("carrier", carrier.id, "create",
                     audit.changed_fields({}, audit.snapshot(carrier, CARRIER_FIELDS)),
                     summary=carrier.name)
        return carrier
    check_version(carrier, expected_version)
    changes = audit.apply_changes(carrier, values, CARRIER_FIELDS)
    if changes:
        db.session.flush()
        audit.record("carrier", carrier.id, "update", changes, summary=carrier.name)
    return carrier


# --------------------------------------------------------------------------------------------
# Tenancies: entry checks, opening, editing
# --------------------------------------------------------------------------------------------


def default_term_end(carrier: Carrier, moved_in_on: date) -> date:
    """Moved in + the carrier's default term (48 months unless set), month-end safe."""
    months = carrier.default_term_months or int(criteria.ENTRY_RULES["max_term_months"])
    return criteria.add_months(moved_in_on, months)


def _holds_valid(enterprise_id: int, kind: str, day: date,
                 held: list[Qualification] | None = None) -> bool:
    """Whether the firm holds a valid `kind` on `day` (from `held` when already loaded)."""
    if held is None:
        held = qualifications_of(enterprise_id)
    return any(q.kind == kind and q.status_on(day) == "valid" for q in held)


def entry_warnings(enterprise: Enterprise, carrier: Carrier, moved_in_on: date) -> list[str]:
    """Why this firm may not count as 在孵企业 here (domain.md §4.2); warnings, never refusals."""
    warnings: list[str] = []
    source = criteria.ENTRY_RULES["source"]
    too_old = criteria.founded_too_long_ago(enterprise.founded_on, moved_in_on)
    if too_old is None:
        warnings.append(gettext("成立日期未知，无法核对入驻时成立不超过24个月的要求（%(source)s）",
                          source=source))
    elif too_old:
        months = criteria.months_between(enterprise.founded_on, moved_in_on)
        warnings.append(gettext("入驻时企业已成立%(months)s个月，超过24个月（%(source)s）",
                          months=months, source=source))
    held = qualifications_of(enterprise.id)
    # An entered tech SME meets the requirement by definition; otherwise ask the rules engine.
    if not _holds_valid(enterprise.id, "tech_sme", moved_in_on, held):
        try:
            facts = build_facts(enterprise, moved_in_on, ["tech_sme"], qualifications=held)
            result = rules.evaluate(facts)["results"][0]
        except rules.FactsError as exc:
            warnings.append(f"企业数据有误，无法核对科技型中小企业要求：{exc}")
        else:
            failed = [c["label"] for c in result["criteria"] if c["status"] == "fail"]
            unknown = [c["label"] for c in result["criteria"]
                       if c["status"] == "unknown" and not c.get("needs_expert")]
            if result["verdict"] == "ineligible":
                warnings.append("不符合科技型中小企业相关要求：" + "；".join(failed)
                                + f"（{source}、{result['rule_version']}）")
            elif result["verdict"] == "insufficient_data":
                warnings.append("缺少数据，无法确认符合科技型中小企业相关要求："
                                + "；".join(unknown))
    elsewhere = db.session.scalars(select(Carrier.name).join(Tenancy).where(
        Tenancy.enterprise_id == enterprise.id, Tenancy.status == "incubating",
        Tenancy.carrier_id != carrier.id))
    for name in elsewhere:
        warnings.append(f"该企业仍在「{name}」在孵")
    return warnings


def _check_term(tenancy_carrier: Carrier, moved_in_on: date, term_ends_on: date | None,
                reason: str | None) -> tuple[date, str | None]:
    if not isinstance(moved_in_on, date):
        raise FieldError({"moved_in_on": _("请填写入驻日期")})
    if moved_in_on > today():
        raise FieldError({"moved_in_on": _("入驻日期不能晚于今天")})
    default = default_term_end(tenancy_carrier, moved_in_on)
    if term_ends_on is None or term_ends_on == default:
        return default, None
    if term_ends_on <= moved_in_on:
        raise FieldError({"term_ends_on": _("孵化期满日期应晚于入驻日期")})
    if not reason:
        raise FieldError({"term_override_reason": (
            Message("孵化期满日期与载体默认期限（%(default)s）不同，请填写原因",
              default=default.isoformat()))})
    return term_ends_on, reason


def _transition(enterprise_id: int, from_stage: str | None, to_stage: str, on: date, *,
                source: str, tenancy_id: int, reason: str | None = None,
                evidence: str | None = None, actor_id: int | None = None) -> StageTransition:
    row = StageTransition(
        enterprise_id=enterprise_id, chain="incubation", from_stage=from_stage,
        to_stage=to_stage, effective_on=on, source=source, tenancy_id=tenancy_id,
        reason=reason, evidence=evidence, actor_id=actor_id or audit.current_actor_id(),
    )
    db.session.add(row)
    return row


def _overlapping_stay(enterprise_id: int, start: date, end: date | None, *,
                      exclude_id: int | None = None) -> Tenancy | None:
    """The firm's stay sharing a day with [start, end) (end None: still open), if any.

    Stays are half-open, as the tenancies_disjoint check reads them: the day one ends the next
    may begin. An open stay is preferred in the answer, being the one a person has to act on.
    """
    query = select(Tenancy).where(Tenancy.enterprise_id == enterprise_id,
                                  or_(Tenancy.ended_on.is_(None), Tenancy.ended_on > start))
    if end is not None:
        query = query.where(Tenancy.moved_in_on < end)
    if exclude_id is not None:
        query = query.where(Tenancy.id != exclude_id)
    return db.session.scalar(query.order_by(Tenancy.ended_on.is_not(None), Tenancy.moved_in_on,
                                            Tenancy.id).limit(1))


def _may_name(user: Any, tenancy: Tenancy) -> bool:
    """Whether a refusal may name the other stay's carrier: the shell (no user) or in scope."""
    if user is None:
        return True
    return db.session.scalar(select(Tenancy.id).where(tenancy_scope(user),
                                                      Tenancy.id == tenancy.id)) is not None


def _refuse_overlap(enterprise: Enterprise, start: date, end: date | None, *, user: Any,
                    exclude_id: int | None = None) -> None:
    """One carrier at a time: refuse a stay that would share a day with another of the firm.

    The chain maker space → incubator → park is the sequence of a firm's stays; moving on
    closes one and opens the next (the 转入下一载体 action), so two at once is never right.
    """
    other = _overlapping_stay(enterprise.id, start, end, exclude_id=exclude_id)
    if other is None:
        return
    named = _may_name(user, other)
    where = (Message("「%(carrier)s」", carrier=other.carrier.name) if named
             else Message("其他载体"))
    if other.ended_on is None:
        stay = Message("该入驻记录") if named else Message("其原入驻记录")
        raise FieldError({"enterprise_id": Message(
            "「%(name)s」仍在%(where)s在孵（%(since)s 入驻），同一时间只能在一个载体在孵："
            "转入新载体请在%(stay)s上提交“转入下一载体”申请，审核通过后自动登记新的入驻；"
            "已毕业或退出的请先登记结束", name=enterprise.name, where=where,
            since=other.moved_in_on.isoformat(), stay=stay)})
    period = (Message("（%(start)s 至 %(end)s）", start=other.moved_in_on.isoformat(),
                      end=other.ended_on.isoformat()) if named else "")
    fix = (Message("入驻日期不能早于 %(day)s", day=other.ended_on.isoformat())
           if named and start < other.ended_on and other.moved_in_on <= start
           else Message("请核对入驻和结束日期"))
    raise FieldError({"moved_in_on": Message(
        "与该企业在%(where)s的入驻%(period)s时间重叠，同一时间只能在一个载体在孵：%(fix)s",
        where=where, period=period, fix=fix)})


def open_tenancy(
    enterprise: Enterprise,
    carrier: Carrier,
    moved_in_on: date,
    term_ends_on: date | None = None,
    term_override_reason: str | None = None,
    source: str = "manual",
    *,
    area_m2: Decimal | None = None,
    previous: Tenancy | None = None,
    actor_id: int | None = None,
    user: Any = None,
    ends_on: date | None = None,
) -> Tenancy:
    """Move a firm into a carrier (flush-only, audited, one stage transition).

    The §4.2 entry checks never refuse: they come back as `tenancy.warnings` (list[str], a plain
    attribute on the returned object, not stored) for the caller to show.
    Raises FieldError for values that cannot be stored (no date, a term override with no reason,
    a stay that would overlap another of the firm: one carrier at a time, the next stay may
    begin the day the last one ended). The refusal names the other carrier only when `user`
    may see that stay (None: the shell, which sees all). `ends_on` is the end the caller records
    in the same unit of work (an official list's past stay); the overlap is judged on it.
    """
    reason = _clean_text(term_override_reason)
    term, reason = _check_term(carrier, moved_in_on, term_ends_on, reason)
    if carrier.archived:
        raise FieldError({"carrier_id": _("该载体已归档，不能新增入驻")})
    duplicate = db.session.scalar(select(Tenancy.id).where(
        Tenancy.enterprise_id == enterprise.id, Tenancy.carrier_id == carrier.id,
        Tenancy.status == "incubating"))
    if duplicate:
        raise FieldError({"enterprise_id": Message("「%(name)s」已在该载体在孵",
                                                   name=enterprise.name)})
    if ends_on is not None and ends_on < moved_in_on:
        raise FieldError({"ended_on": _("结束日期不能早于入驻日期")})
    _refuse_overlap(enterprise, moved_in_on, ends_on, user=user)
    warnings = entry_warnings(enterprise, carrier, moved_in_on)
    tenancy = Tenancy(
        enterprise_id=enterprise.id, carrier_id=carrier.id, moved_in_on=moved_in_on,
        term_ends_on=term, term_override_reason=reason, status="incubating",
        area_m2=area_m2, previous_tenancy_id=previous.id if previous else None, source=source,
    )
    db.session.add(tenancy)
    db.session.flush()
    audit.record("tenancy", tenancy.id, "create",
                 audit.changed_fields({}, audit.snapshot(tenancy, TENANCY_FIELDS)),
                 enterprise_id=enterprise.id, actor_id=actor_id,
                 summary=f"入驻{carrier.name}")
    _transition(enterprise.id, previous.carrier.kind if previous else None, carrier.kind,
                moved_in_on, source="import" if source == "import" else "tenancy",
                tenancy_id=tenancy.id, actor_id=actor_id,
                reason=f"入驻{carrier.name}")
    tenancy.warnings = warnings
    return tenancy


def _move_entry(tenancy: Tenancy, moved_in: date) -> None:
    """A corrected move-in date moves the stay's move-in on the incubation chain with it."""
    entry = db.session.scalar(
        select(StageTransition).where(StageTransition.tenancy_id == tenancy.id,
                                      StageTransition.chain == "incubation",
                                      StageTransition.effective_on == tenancy.moved_in_on)
        .order_by(StageTransition.id).limit(1))
    if entry is not None:
        entry.effective_on = moved_in


def update_tenancy(tenancy: Tenancy, data: Mapping[str, Any], *,
                   expected_version: int | None, user: Any = None) -> dict[str, list[Any]]:
    """Change the move-in details (date, term, area) — what a carrier manager may edit."""
    check_version(tenancy, expected_version)
    moved_in = data.get("moved_in_on", tenancy.moved_in_on)
    if "term_ends_on" in data or "moved_in_on" in data:
        term, reason = _check_term(tenancy.carrier, moved_in, data.get("term_ends_on"),
                                   _clean_text(data.get("term_override_reason")))
    else:  # only the area changes: keep the term and its reason
        term, reason = tenancy.term_ends_on, tenancy.term_override_reason
    if tenancy.ended_on and moved_in > tenancy.ended_on:
        raise FieldError({"moved_in_on": _("入驻日期不能晚于结束日期")})
    if moved_in != tenancy.moved_in_on:
        _refuse_overlap(tenancy.enterprise, moved_in, tenancy.ended_on, user=user,
                        exclude_id=tenancy.id)
    area = data.get("area_m2", tenancy.area_m2)
    if area is not None and area < 0:
        raise FieldError({"area_m2": _("租用面积不能为负数")})
    before = audit.snapshot(tenancy, TENANCY_FIELDS)
    if moved_in != tenancy.moved_in_on:
        _move_entry(tenancy, moved_in)
    tenancy.moved_in_on, tenancy.term_ends_on = moved_in, term
    tenancy.term_override_reason, tenancy.area_m2 = reason, area
    changes = audit.changed_fields(before, audit.snapshot(tenancy, TENANCY_FIELDS))
    if changes:
        db.session.flush()
        audit.record("tenancy", tenancy.id, "update", changes,
                     enterprise_id=tenancy.enterprise_id, summary=tenancy.carrier.name)
    return changes


# --------------------------------------------------------------------------------------------
# Graduation facts and carrier statistics (read from the records, fed to criteria.py)
# --------------------------------------------------------------------------------------------


def graduation_facts(enterprise: Enterprise, as_of: date | None = None) -> criteria.GraduationFacts:
    """The firm's data the §4.3 bases read: HNTE held, investment by year, revenue by year."""
    as_of = as_of or today()
    rows = db.session.execute(select(
        AnnualMetrics.fiscal_year, AnnualMetrics.investment_raised, AnnualMetrics.revenue,
        AnnualMetrics.period_months,
    ).where(AnnualMetrics.enterprise_id == enterprise.id)).all()
    return criteria.GraduationFacts(
        hnte_valid=_holds_valid(enterprise.id, "hnte", as_of),
        # money raised so far this year is raised; revenue so far is not a year's revenue
        investment_by_year={y: inv for y, inv, _r, _m in rows if inv is not None},
        revenue_by_year={y: rev for y, _i, rev, months in rows
                         if rev is not None and months >= FULL_YEAR_MONTHS},
    )


def _count_where(*where: Any) -> Any:
    """count(tenancies) FILTER (WHERE …): several counts over one scan of the tenancies."""
    return func.count(Tenancy.id).filter(and_(*where))


def carrier_stats(carrier: Carrier, as_of: date | None = None, *, user: Any = None
                  ) -> criteria.CarrierStats:
    """Counts the recognition criteria read, in one aggregate query over what `user` may see."""
    as_of = as_of or today()
    incubating = Tenancy.status == "incubating"
    invested = exists().where(AnnualMetrics.enterprise_id == Tenancy.enterprise_id,
                              AnnualMetrics.investment_raised > 0)
    # Valid IP is approximated by IP counts reported for the current or previous fiscal year.
    has_ip = exists().where(
        AnnualMetrics.enterprise_id == Tenancy.enterprise_id,
        AnnualMetrics.fiscal_year >= as_of.year - 1,
        func.coalesce(AnnualMetrics.class1_ip, 0) + func.coalesce(AnnualMetrics.class2_ip, 0) > 0,
    )
    year_ago = as_of - timedelta(days=365)
    resident = and_(Tenancy.moved_in_on <= as_of,
                    or_(Tenancy.ended_on.is_(None), Tenancy.ended_on >= year_ago))
    financed = exists().where(AnnualMetrics.enterprise_id == Tenancy.enterprise_id,
                              AnnualMetrics.fiscal_year == as_of.year - 1,
                              AnnualMetrics.investment_raised > 0)
    tenants, graduates, invested_tenants, ip_tenants, residents, financed_residents = (
        db.session.execute(select(
            _count_where(incubating), _count_where(GRADUATE_CLAUSE),
            _count_where(incubating, invested), _count_where(incubating, has_ip),
            _count_where(resident), _count_where(resident, financed),
        ).where(Tenancy.carrier_id == carrier.id, counted_tenancies(user))).one())
    return criteria.CarrierStats(
        area_m2=carrier.area_m2, workstations=carrier.workstations, tenants=tenants,
        graduates=graduates, invested_tenants=invested_tenants, ip_tenants=ip_tenants,
        residents_last_year=residents, financed_last_year=financed_residents,
    )


@dataclass(frozen=True)
class CarrierCheck:
    stats: criteria.CarrierStats
    rules: criteria.SchemeCriteria | None
    results: list[criteria.CriterionResult]

    @property
    def summary(self) -> str | None:
        return criteria.summary(self.results) if self.rules else None


def carrier_check(carrier: Carrier, as_of: date | None = None, *, user: Any = None
                  ) -> CarrierCheck:
    """The carrier's figures (as far as `user` sees) against its scheme's criteria."""
    stats = carrier_stats(carrier, as_of, user=user)
    scheme_rules = criteria.criteria_for(carrier.scheme or "none", carrier.kind,
                                         specialised=carrier.specialised)
    results = criteria.check_criteria(scheme_rules, stats) if scheme_rules else []
    return CarrierCheck(stats, scheme_rules, results)


# --------------------------------------------------------------------------------------------
# Status proposals: the manager proposes, the bureau decides
# --------------------------------------------------------------------------------------------


def pending_proposal(tenancy: Tenancy) -> StatusProposal | None:
    return db.session.scalar(select(StatusProposal).where(
        StatusProposal.tenancy_id == tenancy.id, StatusProposal.status == "pending"))


def _check_basis(enterprise: Enterprise, basis: str | None, evidence: str | None,
                 *, required: bool) -> None:
    if not basis:
        if required:
            raise FieldError({"graduation_basis": _("请选择毕业依据")})
        return
    if basis not in GRADUATION_BASES:
        raise FieldError({"graduation_basis": _("未知的毕业依据")})
    facts = graduation_facts(enterprise)
    check = next(c for c in criteria.graduation_checks(facts) if c.basis == basis)
    if check.met is None and basis == "listed":
        if not evidence:
            raise FieldError({"evidence": _("以兼并收购或上市作为毕业依据时，请填写证明材料")})
        return
    if not check.met:
        raise FieldError({"graduation_basis": (
            _("企业数据不满足「%(label)s」：%(actual)s（要求 %(required)s）",
              label=_(check.label), actual=check.actual, required=check.required))})


def propose(tenancy: Tenancy, action: str, data: Mapping[str, Any], *, user: Any
            ) -> StatusProposal:
    """Record a proposed graduation, exit or move for the bureau to decide; nothing else changes."""
    errors: dict[str, str] = {}
    if action not in PROPOSAL_ACTIONS:
        raise FieldError({"action": _("请选择变更类型")})
    if tenancy.status != "incubating" and not (action == "move_on"
                                               and tenancy.status == "graduated"):
        raise FieldError({"action": _("该入驻记录已结束，不能再变更状态")})
    if pending_proposal(tenancy) is not None:
        raise FieldError({"action": _("该企业已有待审核的状态变更，请等待审核结果或先撤回")})
    effective = data.get("effective_on")
    if not isinstance(effective, date):
        errors["effective_on"] = _("请填写生效日期")
    elif effective < tenancy.moved_in_on:
        errors["effective_on"] = _("生效日期不能早于入驻日期")
    elif effective > today() + timedelta(days=366):
        errors["effective_on"] = _("生效日期不能晚于一年以后")
    reason = _clean_text(data.get("reason"))
    evidence = _clean_text(data.get("evidence"))
    basis = data.get("graduation_basis") or None
    if action == "move_on" and tenancy.status == "graduated":
        basis = basis or tenancy.graduation_basis
    next_id, note = data.get("next_carrier_id") or None, _clean_text(data.get("next_carrier_note"))
    if action == "exit" and not reason:
        errors["reason"] = _("请填写退出原因")
    if action == "move_on":
        if next_id is not None:
            target = db.session.scalar(select(Carrier).where(
                carrier_scope(user), Carrier.id == next_id, Carrier.archived.is_(False)))
            if target is None:
                errors["next_carrier_id"] = _("请选择有效的目标载体")
            elif target.id == tenancy.carrier_id:
                errors["next_carrier_id"] = _("目标载体不能是当前载体")
        elif not note:
            errors["next_carrier_note"] = _("请填写拟转入的载体")
    if errors:
        raise FieldError(errors)
    if action == "graduate" or (action == "move_on" and basis and tenancy.status != "graduated"):
        _check_basis(tenancy.enterprise, basis, evidence, required=action == "graduate")
    proposal = StatusProposal(
        tenancy_id=tenancy.id, action=action, effective_on=effective,
        graduation_basis=basis if action != "exit" else None, evidence=evidence, reason=reason,
        next_carrier_id=next_id if action == "move_on" else None,
        next_carrier_note=note if action == "move_on" else None,
        status="pending", proposed_by_id=getattr(user, "id", None),
    )
    db.session.add(proposal)
    db.session.flush()
    audit.record("tenancy_proposal", proposal.id, "create",
                 audit.changed_fields({}, audit.snapshot(proposal, PROPOSAL_FIELDS)),
                 enterprise_id=tenancy.enterprise_id, actor_id=getattr(user, "id", None),
                 summary=f"提议{PROPOSAL_ACTIONS[action]}")
    return proposal


def may_decide(user: Any, proposal: StatusProposal | None = None) -> bool:
    """Bureau, zone staff (within scope) and admins decide; managers and viewers do not.

    Maker-checker: whoever proposed a change does not decide it, except an admin (the audit
    event then says so).
    """
    if getattr(user, "role", None) not in EDITOR_ROLES:
        return False
    if proposal is not None and _self_decided(proposal, user):
        return user.role == Role.ADMIN
    return True


def _self_decided(proposal: StatusProposal, user: Any) -> bool:
    return proposal.proposed_by_id is not None and proposal.proposed_by_id == getattr(
        user, "id", None)


def _require_pending(proposal: StatusProposal, user: Any) -> None:
    if not may_decide(user, proposal):
        raise PermissionError("only bureau staff other than the proposer decide on status changes")
    if proposal.status != "pending":
        raise FieldError({"status": _("该申请已处理，不能重复审核")})


def close_tenancy(
    tenancy: Tenancy,
    action: str,
    effective_on: date,
    *,
    graduation_basis: str | None = None,
    evidence: str | None = None,
    reason: str | None = None,
    source: str = "manual",
    official_list: bool = False,
    actor_id: int | None = None,
) -> Tenancy:
    """End a stay (graduate, exit, or the closing half of move_on) with its stage transition.

    The one way a tenancy is closed, whether a bureau officer approved a proposal or an
    official list says so (`official_list`: the list is the approval and the evidence, so the
    basis is recorded as listed rather than re-checked against our figures). The audit event
    names the channel (`source`) and whether an official list was the approval. Moving on
    writes no closing transition: opening the next stay records the move.
    """
    if action not in PROPOSAL_ACTIONS:
        raise FieldError({"action": _("请选择变更类型")})
    if tenancy.status != "incubating" and not (action == "move_on"
                                               and tenancy.status == "graduated"):
        raise FieldError({"status": (
            Message("该入驻记录已结束（%(status)s），不能再变更状态",
                    status=Message(TENANCY_STATUSES.get(tenancy.status, tenancy.status))))})
    if not isinstance(effective_on, date):
        raise FieldError({"effective_on": _("请填写生效日期")})
    if effective_on < tenancy.moved_in_on:
        raise FieldError({"effective_on": _("生效日期不能早于入驻日期")})
    reason, evidence = _clean_text(reason), _clean_text(evidence)
    if action == "exit" and not reason:
        raise FieldError({"reason": _("请填写退出原因")})
    basis = graduation_basis or None
    if basis and tenancy.status != "graduated":
        if official_list:
            if basis not in GRADUATION_BASES:
                raise FieldError({"graduation_basis": _("未知的毕业依据")})
        else:  # the data may have changed since a proposal: graduate on what holds today
            _check_basis(tenancy.enterprise, basis, evidence, required=True)
    elif action == "graduate":
        raise FieldError({"graduation_basis": _("请选择毕业依据")})
    before = audit.snapshot(tenancy, TENANCY_FIELDS)
    tenancy.status = ACTION_STATUS[action]
    if tenancy.ended_on is None:
        tenancy.ended_on = effective_on
    if basis and action != "exit":
        tenancy.graduation_basis = basis
        tenancy.graduation_evidence = evidence or tenancy.graduation_evidence
    tenancy.end_reason = reason or tenancy.end_reason
    db.session.flush()
    changes = audit.changed_fields(before, audit.snapshot(tenancy, TENANCY_FIELDS))
    changes["channel"] = [None, source]
    if official_list:
        changes["official_list"] = [None, True]
    how = {"proposal": "审核通过", "import": "导入名单"}.get(source, "登记")
    audit.record("tenancy", tenancy.id, "update", changes,
                 enterprise_id=tenancy.enterprise_id, actor_id=actor_id,
                 summary=f"{PROPOSAL_ACTIONS[action]}（{how}"
                         + ("，按官方名单批准" if official_list else "") + "）")
    if action != "move_on":
        _transition(tenancy.enterprise_id, tenancy.carrier.kind, tenancy.status,
                    tenancy.ended_on, source="import" if source == "import" else "tenancy",
                    tenancy_id=tenancy.id,
                    reason=reason or GRADUATION_BASES.get(basis or ""),
                    evidence=evidence or ("官方名单" if official_list else None),
                    actor_id=actor_id)
        db.session.flush()
    return tenancy


def _moves_text(moves: Sequence[StageTransition]) -> str | None:
    return "；".join(f"{m.effective_on.isoformat()} {m.from_stage or '—'} → {m.to_stage}"
                    for m in moves) or None


def forget_stay(tenancy: Tenancy, *, reason: str, actor_id: int | None = None) -> int:
    """Before an undone import deletes a stay, take back the moves it recorded for it.

    A stay that never was has no move-in or end on the incubation chain; the firm's history
    loses those lines, audited on the firm (as the ladder audits its rebuilt history).
    Returns how many moves went.
    """
    moves = list(db.session.scalars(select(StageTransition).where(
        StageTransition.tenancy_id == tenancy.id, StageTransition.chain == "incubation")
        .order_by(StageTransition.effective_on, StageTransition.id)))
    if not moves:
        return 0
    before = _moves_text(moves)
    for move in moves:
        db.session.delete(move)
    db.session.flush()
    audit.record("enterprise", tenancy.enterprise_id, "transition",
                 {"incubation_history": [before, None]}, enterprise_id=tenancy.enterprise_id,
                 actor_id=actor_id,
                 summary=f"孵化历程：删除入驻「{tenancy.carrier.name}」（{reason}）")
    return len(moves)


def redate_entry(tenancy: Tenancy, moved_in: date) -> None:
    """Before an undo puts back a stay's move-in date, move its move-in on the chain with it.

    (The stay's own audit event records the date; the move follows it as update_tenancy's does.)
    """
    if moved_in != tenancy.moved_in_on:
        _move_entry(tenancy, moved_in)


def forget_closing(tenancy: Tenancy) -> int:
    """After an undone import reopened a stay, drop the move that recorded its closing.

    The stay is incubating again, so a transition to graduated/exited for it would tell a story
    the records no longer support. Returns how many moves went.
    """
    if tenancy.status != "incubating":
        return 0
    moves = list(db.session.scalars(select(StageTransition).where(
        StageTransition.tenancy_id == tenancy.id, StageTransition.chain == "incubation",
        StageTransition.to_stage.in_(("graduated", "exited")))))
    for move in moves:
        db.session.delete(move)
    db.session.flush()
    return len(moves)


def _decision_changes(proposal: StatusProposal, user: Any, status: str) -> dict[str, list]:
    changes: dict[str, list] = {"status": ["pending", status]}
    if _self_decided(proposal, user):
        changes["self_decided"] = [None, True]  # an admin deciding their own proposal
    return changes


def approve(proposal: StatusProposal, *, user: Any, comment: str | None = None,
            next_carrier: Carrier | None = None, next_moved_in_on: date | None = None,
            expected_version: int | None = None) -> StatusProposal:
    """Apply an approved change: close the tenancy, record the move; open the next on move_on."""
    _require_pending(proposal, user)
    check_version(proposal, expected_version)
    tenancy = proposal.tenancy
    if tenancy.status != "incubating" and not (proposal.action == "move_on"
                                               and tenancy.status == "graduated"):
        raise FieldError({"status": _("该入驻记录已结束")})
    actor_id = getattr(user, "id", None)
    if proposal.action == "move_on":
        next_carrier = next_carrier or proposal.next_carrier
        if next_carrier is None:
            raise FieldError({"next_carrier_id": _("请选择转入的载体")})
        if next_carrier.id == tenancy.carrier_id:
            raise FieldError({"next_carrier_id": _("目标载体不能是当前载体")})
    close_tenancy(tenancy, proposal.action, proposal.effective_on,
                  graduation_basis=proposal.graduation_basis, evidence=proposal.evidence,
                  reason=proposal.reason, source="proposal", actor_id=actor_id)
    if proposal.action == "move_on":
        new = open_tenancy(tenancy.enterprise, next_carrier,
                           next_moved_in_on or proposal.effective_on, source="move_on",
                           previous=tenancy, actor_id=actor_id, user=user)
        proposal.new_tenancy_id = new.id
        proposal.next_carrier_id = next_carrier.id
        proposal.warnings = new.warnings
    else:
        proposal.warnings = []
    proposal.status = "approved"
    proposal.decided_by_id, proposal.decided_at = actor_id, now_utc()
    proposal.decision_comment = _clean_text(comment)
    db.session.flush()
    audit.record("tenancy_proposal", proposal.id, "approve",
                 _decision_changes(proposal, user, "approved"),
                 enterprise_id=tenancy.enterprise_id,
                 actor_id=actor_id, summary=proposal.decision_comment)
    return proposal


def reject(proposal: StatusProposal, *, user: Any, comment: str | None,
           expected_version: int | None = None) -> StatusProposal:
    """Turn a proposal down with the reason the manager will read; the tenancy is untouched."""
    _require_pending(proposal, user)
    check_version(proposal, expected_version)
    comment = _clean_text(comment)
    if not comment:
        raise FieldError({"comment": _("驳回时请填写意见，载体管理员将看到该意见")})
    proposal.status = "rejected"
    proposal.decided_by_id, proposal.decided_at = getattr(user, "id", None), now_utc()
    proposal.decision_comment = comment
    db.session.flush()
    audit.record("tenancy_proposal", proposal.id, "reject",
                 _decision_changes(proposal, user, "rejected"),
                 enterprise_id=proposal.tenancy.enterprise_id,
                 actor_id=getattr(user, "id", None), summary=comment)
    return proposal


def withdraw(proposal: StatusProposal, *, user: Any) -> StatusProposal:
    """The proposer takes a pending proposal back."""
    if proposal.status != "pending":
        raise FieldError({"status": _("只能撤回待审核的申请")})
    if proposal.proposed_by_id != getattr(user, "id", None) and not may_decide(user):
        raise PermissionError("only the proposer withdraws")
    proposal.status = "withdrawn"
    db.session.flush()
    audit.record("tenancy_proposal", proposal.id, "withdraw",
                 {"status": ["pending", "withdrawn"]},
                 enterprise_id=proposal.tenancy.enterprise_id, actor_id=getattr(user, "id", None))
    return proposal


# --------------------------------------------------------------------------------------------
# Periodic tenant reports
# --------------------------------------------------------------------------------------------


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


# --------------------------------------------------------------------------------------------
# Dashboard
# --------------------------------------------------------------------------------------------


def dashboard_counts(user: Any, on: date | None = None) -> dict[str, int]:
    """Incubating, graduated this year, terms ending within 90 days and overdue — scoped."""
    on = on or today()
    scoped = tenancy_scope(user)
    incubating = Tenancy.status == "incubating"
    counts = db.session.execute(select(
        _count_where(incubating),
        _count_where(GRADUATE_CLAUSE, Tenancy.ended_on >= date(on.year, 1, 1),
                     Tenancy.ended_on <= on),
        _count_where(incubating, Tenancy.term_ends_on >= on,
                     Tenancy.term_ends_on <= on + timedelta(days=90)),
        _count_where(incubating, Tenancy.term_ends_on < on),
    ).where(scoped)).one()
    pending = db.session.scalar(
        select(func.count(StatusProposal.id))
        .join(Tenancy, StatusProposal.tenancy_id == Tenancy.id)
        .where(scoped, StatusProposal.status == "pending"))
    return {**dict(zip(("incubating", "graduated_this_year", "ending_90", "overdue"), counts,
                       strict=True)),
            "pending": pending or 0}


def graduated_then_hnte() -> Any:
    """A graduated tenancy whose firm was recognised as HNTE on or after it graduated
    (the dashboard's "graduates that later became HNTE" and the carrier page's filter)."""
    return and_(Tenancy.status == "graduated", exists(
        select(Qualification.id).where(Qualification.enterprise_id == Tenancy.enterprise_id,
                                       Qualification.kind == "hnte",
                                       Qualification.granted_on >= Tenancy.ended_on)))


def resident_on(day: date) -> Any:
    """A tenancy that had begun by `day` and had not ended on it (month-end tenant counts)."""
    return and_(
        Tenancy.moved_in_on <= day,
        or_(Tenancy.ended_on > day,
            and_(Tenancy.ended_on.is_(None), Tenancy.status == "incubating")),
    )
