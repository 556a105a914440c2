"""Tenancies: entry checks, opening and editing a stay, and its moves on the incubation chain
(including taking them back when an undone import removes or reopens a stay)."""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from datetime import date
from decimal import Decimal
from typing import Any

from flask_babel import gettext
from flask_babel import gettext as _
from sqlalchemy import or_, select

from tracker.accounts.scope import tenancy_scope
from tracker.audit import services as audit
from tracker.clock import today
from tracker.enterprises.models import Enterprise
from tracker.errors import FieldError, check_version
from tracker.extensions import db
from tracker.incubation import criteria
from tracker.incubation.models import Carrier, Tenancy
from tracker.incubation.services.common import _clean_text, _holds_valid
from tracker.ladder import rules
from tracker.ladder.facts import build_facts
from tracker.ladder.models import StageTransition
from tracker.ladder.services import qualifications_of
from tracker.messages import Message

TENANCY_FIELDS = (
    "enterprise_id", "carrier_id", "moved_in_on", "term_ends_on", "term_override_reason",
    "status", "ended_on", "graduation_basis", "graduation_evidence", "end_reason", "area_m2",
    "previous_tenancy_id", "source",
)
#: what a carrier manager (or officer) may change on a tenancy: the move-in details
TENANCY_EDITABLE = ("moved_in_on", "term_ends_on", "term_override_reason", "area_m2")


def default_term_end(carrier: Carrier, moved_in_on: date) -> date:
    """Moved in + the carrier's default term (48 months unless set), month-end safe."""
    months = carrier.default_term_months or int(criteria.ENTRY_RULES["max_term_months"])
    return criteria.add_months(moved_in_on, months)


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
