"""'Newly eligible' reminders: which firms now meet the next rung's criteria.

The verdict is the ladder's own stored one (or, where none is stored for the day, the ladder's
own builder and thresholds), so a reminder says "eligible" exactly when the ladder board does.
"""

from __future__ import annotations

from collections.abc import Iterable
from datetime import date

from sqlalchemy import ColumnElement, case, null, or_, select
from sqlalchemy.orm import selectinload

from tracker.enterprises.models import Enterprise
from tracker.extensions import db
from tracker.ladder.facts import build_facts
from tracker.ladder.models import EligibilityResult, Qualification
from tracker.ladder.rules import KINDS, FactsError, evaluate
from tracker.ladder.services import local_thresholds


def next_rung(current: str | None) -> str | None:
    """The rung above `current` in ladder order (tech SME first)."""
    order = list(KINDS)
    if current is None or current not in order:
        return order[0]
    index = order.index(current) + 1
    return order[index] if index < len(order) else None


#: firms whose titles are read (and unstored verdicts evaluated) together
CHUNK = 1000


def _next_rung_sql() -> ColumnElement:
    """next_rung() as SQL over Enterprise.current_rung (NULL: no rung above)."""
    order = list(KINDS)
    steps = [(Enterprise.current_rung == kind, order[i + 1]) for i, kind in enumerate(order[:-1])]
    return case(*steps, (Enterprise.current_rung == order[-1], null()), else_=order[0])


def newly_eligible(as_of: date, enterprise_ids: Iterable[int] | None = None
                   ) -> list[tuple[int, str]]:
    """(enterprise id, rung) for active firms whose next rung is `eligible` on as_of.

    The verdict is the one the ladder stored that holds on that day (evaluated on or before it,
    valid through it): after a save the pipeline's first stage has just written it
    (tracker.changes), and the nightly run evaluates every firm whose verdict ran out. Only a
    firm with no stored verdict holding that day (a past date, a bulk change still on a worker)
    is evaluated here, without storing, so the rules run once per change, not twice.

    Set-based: SQL keeps only the firms whose stored verdict for the next rung is eligible or
    missing; their titles are then read (and missing verdicts evaluated) a chunk at a time, so
    memory does not grow with the register and time follows the candidates.
    """
    rung = _next_rung_sql()
    # A stored verdict of a firm marked stale is older than its facts: evaluate it afresh.
    stored = (select(EligibilityResult.verdict)
              .where(EligibilityResult.enterprise_id == Enterprise.id,
                     EligibilityResult.kind == rung, EligibilityResult.holds_on(as_of),
                     Enterprise.eligibility_stale_since.is_(None))
              .correlate(Enterprise).scalar_subquery())
    query = (select(Enterprise.id, rung.label("rung"), stored.label("verdict"))
             .where(Enterprise.status == "active", rung.is_not(None),
                    or_(stored == "eligible", stored.is_(None)))
             .order_by(Enterprise.id))
    if enterprise_ids is not None:
        query = query.where(Enterprise.id.in_(list(enterprise_ids)))
    found: list[tuple[int, str]] = []
    rows = list(db.session.execute(query))
    for start in range(0, len(rows), CHUNK):
        chunk = rows[start:start + CHUNK]
        quals: dict[int, list[Qualification]] = {}
        for q in db.session.scalars(select(Qualification).where(
                Qualification.enterprise_id.in_([r.id for r in chunk]))):
            quals.setdefault(q.enterprise_id, []).append(q)
        unstored: dict[int, str] = {}
        for enterprise_id, next_kind, verdict in chunk:
            own = quals.get(enterprise_id, [])
            if any(q.kind == next_kind and q.status_on(as_of) == "valid" for q in own):
                continue
            if verdict is None:
                unstored[enterprise_id] = next_kind
            else:
                found.append((enterprise_id, next_kind))
        found.extend(_evaluate_unstored(as_of, unstored, quals))
    return sorted(found)


def _evaluate_unstored(as_of: date, rungs: dict[int, str],
                       quals: dict[int, list[Qualification]]) -> list[tuple[int, str]]:
    """Evaluate the next rung of firms the ladder holds no verdict for on as_of."""
    if not rungs:
        return []
    thresholds = local_thresholds()
    found: list[tuple[int, str]] = []
    for enterprise in db.session.scalars(select(Enterprise).where(
            Enterprise.id.in_(rungs)).options(selectinload(Enterprise.metrics))):
        rung = rungs[enterprise.id]
        facts = build_facts(enterprise, as_of, [rung], metrics=enterprise.metrics,
                            qualifications=quals.get(enterprise.id, []))
        try:
            result = evaluate(facts, local_thresholds=thresholds)
        except FactsError:
            continue  # malformed stored figures: the gap report shows them, no reminder
        if result["results"] and result["results"][0]["verdict"] == "eligible":
            found.append((enterprise.id, rung))
    return found
