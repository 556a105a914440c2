"""The rung and its history: the rung derived from titles, the dated moves kept equal to it."""

from __future__ import annotations

from datetime import date
from typing import Any

from sqlalchemy import bindparam, select
from sqlalchemy.orm import joinedload

from tracker.audit import services as audit
from tracker.clock import today
from tracker.enterprises.models import Enterprise
from tracker.extensions import db
from tracker.ladder import validity
from tracker.ladder.models import Qualification, StageTransition
from tracker.ladder.rules import KINDS
from tracker.vocabulary import SOURCES

#: built once, run with the firm's id: the enterprise page runs it on every view, and building
#: a statement and its cache key costs about as much as the ORM's running it (issue 12)
_QUALIFICATIONS_OF = (
    select(Qualification).where(Qualification.enterprise_id == bindparam("enterprise_id"))
    .order_by(Qualification.granted_on.desc(), Qualification.id.desc()))


def qualifications_of(enterprise_id: int) -> list[Qualification]:
    """All qualifications of a firm, newest grant first."""
    return list(db.session.scalars(_QUALIFICATIONS_OF, {"enterprise_id": enterprise_id}))


def qualifications_by_enterprise(enterprise_ids: list[int]) -> dict[int, list[Qualification]]:
    """The qualifications of many firms in one query (bulk recompute), keyed by firm id."""
    found: dict[int, list[Qualification]] = {i: [] for i in enterprise_ids}
    for q in db.session.scalars(select(Qualification).where(
            Qualification.enterprise_id.in_(enterprise_ids))):
        found[q.enterprise_id].append(q)
    return found


#: how a derived move is labelled when no caller explained it
_WHY_SOURCE = {"grant": "import", "expiry": "expiry", "revocation": "revocation"}


def _ladder_transitions(enterprise_id: int) -> list[StageTransition]:
    return list(db.session.scalars(
        select(StageTransition).where(StageTransition.enterprise_id == enterprise_id,
                                      StageTransition.chain == "ladder")
        .order_by(StageTransition.effective_on, StageTransition.id)))


def _step_text(effective_on: date, from_stage: str | None, to_stage: str | None) -> str:
    return f"{effective_on.isoformat()} {KINDS.get(from_stage, '无')}→{KINDS.get(to_stage, '无')}"


def _explained(step: validity.RungStep) -> tuple[str, str]:
    """A source and reason for a move nobody described (an expiry found by the nightly run)."""
    cause = step.cause
    label = KINDS.get(cause.kind, "") if cause is not None else ""
    if step.why == "revocation":
        return "revocation", f"撤销{label}" + (f"：{cause.revoked_reason}"
                                                if cause is not None and cause.revoked_reason
                                                else "")
    if step.why == "expiry":
        return "expiry", f"{label}有效期届满"
    source = cause.source if cause is not None and cause.source else _WHY_SOURCE["grant"]
    return source, f"获得{label}"


def rebuild_ladder_history(
    enterprise: Enterprise,
    *,
    source: str,
    on: date | None = None,
    cause: Qualification | None = None,
    reason: str | None = None,
    evidence: str | None = None,
    actor_id: int | None = None,
    qualifications: list[Qualification] | None = None,
) -> StageTransition | None:
    """Make the stored rung and ladder transitions equal the timeline the titles give.

    Called whenever a title is granted, corrected, revoked or runs out. A move that survives
    (same dates, or the same title's event re-dated) keeps who recorded it, why and the
    evidence; a move no title supports any more goes; the rebuild is audited. `source`,
    `reason`, `evidence` and `actor_id` describe new moves caused by `cause` (the title this
    call is about). Returns the newest move created, if any.
    """
    day = on or today()
    quals = qualifications if qualifications is not None else qualifications_of(enterprise.id)
    timeline = validity.rung_timeline(quals, day)
    stored = _ladder_transitions(enterprise.id)
    before = "；".join(_step_text(t.effective_on, t.from_stage, t.to_stage) for t in stored)
    unused = list(stored)
    kept: list[StageTransition] = []
    created: list[StageTransition] = []
    redated = False

    def take(match) -> StageTransition | None:
        found = next((t for t in unused if match(t)), None)
        if found is not None:
            unused.remove(found)
        return found

    for step in timeline:
        key = (step.effective_on, step.from_stage, step.to_stage)
        cause_id = step.cause.id if step.cause is not None else None
        row = take(lambda t, key=key: (t.effective_on, t.from_stage, t.to_stage) == key)
        if row is None and cause_id is not None:
            # the same title's event, re-dated or re-ordered: keep who and why
            row = take(lambda t, c=cause_id, s=step: t.qualification_id == c
                       and (t.to_stage == s.to_stage or t.from_stage == s.from_stage))
        if row is None:
            row = take(lambda t, s=step: (t.from_stage, t.to_stage) == (s.from_stage,
                                                                          s.to_stage))
        if row is not None:
            if (row.effective_on, row.from_stage, row.to_stage) != key:
                row.effective_on, row.from_stage, row.to_stage = key
                redated = True
            if row.qualification_id is None and cause_id is not None:
                row.qualification_id = cause_id
            kept.append(row)
            continue
        ours = cause is not None and step.cause is cause
        step_source, step_reason = _explained(step)
        row = StageTransition(
            enterprise_id=enterprise.id, chain="ladder", from_stage=step.from_stage,
            to_stage=step.to_stage, effective_on=step.effective_on,
            source=source if ours or step.cause is None else step_source,
            reason=(reason or step_reason) if ours else step_reason,
            evidence=evidence if ours else None, qualification_id=cause_id,
            actor_id=actor_id if actor_id is not None else audit.current_actor_id(),
        )
        db.session.add(row)
        created.append(row)
    for gone in unused:
        db.session.delete(gone)
    old, new = enterprise.current_rung, timeline[-1].to_stage if timeline else None
    enterprise.current_rung = new
    if not (created or unused or redated or old != new):
        return None
    db.session.flush()
    changes: dict[str, list[Any]] = {}
    if old != new:
        changes["current_rung"] = [old, new]
    if created or unused or redated:
        changes["ladder_history"] = [
            before or None,
            "；".join(_step_text(st.effective_on, st.from_stage, st.to_stage)
                     for st in timeline) or None,
        ]
    how = SOURCES.get(source, source)
    summary = (f"梯度：{KINDS.get(old, '无')} → {KINDS.get(new, '无')}（{how}）" if old != new
               else f"梯度历程按资质日期重排（{how}）")
    audit.record("enterprise", enterprise.id, "transition", changes,
                 enterprise_id=enterprise.id,
                 actor_id=actor_id if actor_id is not None else audit.current_actor_id(),
                 summary=summary)
    return created[-1] if created else None


def refresh_rung(
    enterprise: Enterprise,
    *,
    source: str,
    on: date | None = None,
    cause: Qualification | None = None,
    reason: str | None = None,
    evidence: str | None = None,
    actor_id: int | None = None,
    qualifications: list[Qualification] | None = None,
) -> StageTransition | None:
    """Re-derive the cached rung from valid qualifications; rebuild the history if it moved.

    The nightly run calls this for every firm: when the rung has not moved no title event
    happened today, so the stored history (rebuilt at the last event) still holds.
    `qualifications` may be passed when already loaded (the nightly run loads a chunk at once).
    """
    day = on or today()
    quals = qualifications if qualifications is not None else qualifications_of(enterprise.id)
    if validity.rung_on(quals, day) == enterprise.current_rung:
        return None
    return rebuild_ladder_history(enterprise, source=source, on=day, cause=cause, reason=reason,
                                  evidence=evidence, actor_id=actor_id, qualifications=quals)


def transition_order_problems(enterprise_id: int, on: date | None = None) -> list[str]:
    """What is wrong with a firm's stored ladder history; empty when it is sound.

    Sound means: moves ordered by effective date, one per day at most, each starting where the
    previous one ended, equal to the timeline the qualifications give on `on` (default today),
    and ending on the stored current rung. For the invariant checker; reads only.
    """
    return transition_order_problems_many([enterprise_id], on)[enterprise_id]


def transition_order_problems_many(enterprise_ids: list[int], on: date | None = None
                                   ) -> dict[int, list[str]]:
    """transition_order_problems for many firms in three queries (the nightly check)."""
    day = on or today()
    moves: dict[int, list[StageTransition]] = {i: [] for i in enterprise_ids}
    for t in db.session.scalars(
            select(StageTransition).where(StageTransition.enterprise_id.in_(enterprise_ids),
                                          StageTransition.chain == "ladder")
            .order_by(StageTransition.effective_on, StageTransition.id)):
        moves[t.enterprise_id].append(t)
    quals = qualifications_by_enterprise(enterprise_ids)
    rungs = dict(db.session.execute(select(Enterprise.id, Enterprise.current_rung)
                                    .where(Enterprise.id.in_(enterprise_ids))).all())
    return {i: _order_problems(moves[i], quals[i], rungs.get(i), day) for i in enterprise_ids}


def _order_problems(stored: list[StageTransition], quals: list[Qualification],
                    rung: str | None, day: date) -> list[str]:
    problems: list[str] = []
    previous: StageTransition | None = None
    for t in stored:
        if previous is not None:
            if t.effective_on == previous.effective_on:
                problems.append(f"两次梯度变化同日（{t.effective_on.isoformat()}）：停留为零天")
            if t.from_stage != previous.to_stage:
                problems.append(f"{_step_text(t.effective_on, t.from_stage, t.to_stage)} 未接上"
                                f"前一次变化（{previous.to_stage or '无'}）")
        elif t.from_stage is not None:
            problems.append(f"{_step_text(t.effective_on, t.from_stage, t.to_stage)} 是第一条，"
                            "却不是从无梯度开始")
        previous = t
    derived = [(s.effective_on, s.from_stage, s.to_stage)
               for s in validity.rung_timeline(quals, day)]
    actual = [(t.effective_on, t.from_stage, t.to_stage) for t in stored]
    if actual != derived:
        problems.append("梯度历程与资质日期不符：记录为 "
                        + ("；".join(_step_text(*a) for a in actual) or "无")
                        + "，按资质应为 " + ("；".join(_step_text(*d) for d in derived) or "无"))
    expected = derived[-1][2] if derived else None
    if rung != expected:
        problems.append(f"current_rung 为 {rung or '无'}，按有效资质应为 {expected or '无'}")
    return problems


def rebuild_all_histories(*, chunk: int = 500, actor_id: int | None = None) -> int:
    """Rebuild every firm's ladder history whose stored moves disagree with its titles.

    For histories written before moves were dated by the titles (typed-in order). Flushes per
    chunk; the caller commits. Returns how many firms were rebuilt.
    """
    ids = list(db.session.scalars(select(Enterprise.id).order_by(Enterprise.id)))
    rebuilt = 0
    for start in range(0, len(ids), chunk):
        part = ids[start:start + chunk]
        problems = transition_order_problems_many(part)
        quals = qualifications_by_enterprise(part)
        for enterprise_id in (i for i in part if problems[i]):
            enterprise = db.session.get(Enterprise, enterprise_id)
            rebuild_ladder_history(enterprise, source="manual", actor_id=actor_id,
                                   qualifications=quals[enterprise_id],
                                   reason="按资质日期重建梯度历程")
            rebuilt += 1
        db.session.flush()
    return rebuilt


#: built once (as _QUALIFICATIONS_OF)
_LADDER_MOVES = (
    select(StageTransition).where(StageTransition.enterprise_id == bindparam("enterprise_id"),
                                  StageTransition.chain == "ladder")
    .options(joinedload(StageTransition.actor)))


def ladder_history(enterprise_id: int, on: date | None = None) -> list[dict[str, Any]]:
    """Rung transitions oldest first, each with the days spent on the rung it moved to."""
    transitions = list(db.session.scalars(_LADDER_MOVES, {"enterprise_id": enterprise_id}))
    return validity.time_on_rungs(transitions, on or today())
