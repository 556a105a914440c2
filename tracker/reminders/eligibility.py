"""'Newly eligible' reminders: which firms now meet the next rung's criteria.

Facts come from the ladder's own builder and thresholds, so a reminder says "eligible" exactly
when the ladder board does.
"""

from __future__ import annotations

from collections.abc import Iterable
from datetime import date

from sqlalchemy import select
from sqlalchemy.orm import selectinload

from tracker.enterprises.models import Enterprise
from tracker.extensions import db
from tracker.ladder.facts import build_facts
from tracker.ladder.models import Qualification
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
    """(enterprise id, rung) for active firms whose next rung evaluates `eligible` on as_of."""
    ids = None if enterprise_ids is None else list(enterprise_ids)
    query = select(Enterprise).where(Enterprise.status == "active").options(
        selectinload(Enterprise.metrics))
    quals_query = select(Qualification)
    if ids is not None:
        query = query.where(Enterprise.id.in_(ids))
        quals_query = quals_query.where(Qualification.enterprise_id.in_(ids))
    quals: dict[int, list[Qualification]] = {}
    for q in db.session.scalars(quals_query):
        quals.setdefault(q.enterprise_id, []).append(q)
    thresholds = local_thresholds()
    found: list[tuple[int, str]] = []
    for enterprise in db.session.scalars(query):
        rung = next_rung(enterprise.current_rung)
        own = quals.get(enterprise.id, [])
        if rung is None or any(q.kind == rung and q.status_on(as_of) == "valid" for q in own):
            continue
        facts = build_facts(enterprise, as_of, [rung], metrics=enterprise.metrics,
                            qualifications=own)
        try:
            result = evaluate(facts, local_thresholds=thresholds)
        except FactsError:
            continue  # malformed stored figures: the gap report shows them, no reminder
        if result["results"] and result["results"][0]["verdict"] == "eligible":
            found.append((enterprise.id, rung))
    return found
