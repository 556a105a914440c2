"""'Newly eligible' reminders: which firms now meet the next rung's criteria.

The verdict is the ladder's own stored one (or, where none is stored for the day, the ladder's
own builder and thresholds), so a reminder says "eligible" exactly when the ladder board does.
"""

from __future__ import annotations

from collections.abc import Iterable
from datetime import date

from sqlalchemy import select
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


def newly_eligible(as_of: date, enterprise_ids: Iterable[int] | None = None
                   ) -> list[tuple[int, str]]:
    """(enterprise id, rung) for active firms whose next rung is `eligible` on as_of.

    The verdict is the one the ladder stored for that day: after a save the pipeline's first
    stage has just written it (tracker.changes), and the nightly run writes every firm's. Only
    a firm with no stored verdict for that day (a past date, a bulk change still on a worker)
    is evaluated here, without storing, so the rules run once per change, not twice.
    """
    ids = None if enterprise_ids is None else list(enterprise_ids)
    firms_query = select(Enterprise.id, Enterprise.current_rung).where(
        Enterprise.status == "active")
    quals_query = select(Qualification)
    # A stored verdict of a firm marked stale is older than its facts: evaluate it afresh.
    stored_query = (select(EligibilityResult.enterprise_id, EligibilityResult.kind,
                           EligibilityResult.verdict)
                    .join(Enterprise, Enterprise.id == EligibilityResult.enterprise_id)
                    .where(EligibilityResult.as_of == as_of,
                           Enterprise.eligibility_stale_since.is_(None)))
    if ids is not None:
        firms_query = firms_query.where(Enterprise.id.in_(ids))
        quals_query = quals_query.where(Qualification.enterprise_id.in_(ids))
        stored_query = stored_query.where(EligibilityResult.enterprise_id.in_(ids))
    quals: dict[int, list[Qualification]] = {}
    for q in db.session.scalars(quals_query):
        quals.setdefault(q.enterprise_id, []).append(q)
    stored = {(row.enterprise_id, row.kind): row.verdict
              for row in db.session.execute(stored_query)}
    found: list[tuple[int, str]] = []
    unstored: dict[int, str] = {}
    for enterprise_id, current_rung in db.session.execute(firms_query):
        rung = next_rung(current_rung)
        own = quals.get(enterprise_id, [])
        if rung is None or any(q.kind == rung and q.status_on(as_of) == "valid" for q in own):
            continue
        verdict = stored.get((enterprise_id, rung))
        if verdict is None:
            unstored[enterprise_id] = rung
        elif verdict == "eligible":
            found.append((enterprise_id, rung))
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
