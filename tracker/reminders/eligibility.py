"""'Newly eligible' reminders: which firms now meet the next rung's criteria.

The verdict is the ladder's own stored one, read in SQL, so a reminder says "eligible" exactly
when the ladder board does, and the sweep never runs the rules nor loads a firm.
"""

from __future__ import annotations

from collections.abc import Iterable
from datetime import date

from sqlalchemy import ColumnElement, Select, case, exists, null, select

from tracker.enterprises.models import Enterprise
from tracker.extensions import db
from tracker.ladder.models import EligibilityResult, Qualification
from tracker.ladder.rules import KINDS


def next_rung(current: str | None) -> str | None:
    """The rung above `current` in ladder order (tech SME first)."""
    order = list(KINDS)
    if current is None or current not in order:
        return order[0]
    index = order.index(current) + 1
    return order[index] if index < len(order) else None


def _next_rung_sql() -> ColumnElement:
    """next_rung() as SQL over Enterprise.current_rung (NULL: no rung above)."""
    order = list(KINDS)
    steps = [(Enterprise.current_rung == kind, order[i + 1]) for i, kind in enumerate(order[:-1])]
    return case(*steps, (Enterprise.current_rung == order[-1], null()), else_=order[0])


def newly_eligible_select(as_of: date) -> Select:
    """(enterprise_id, rung): active firms whose stored verdict for their next rung is
    `eligible` on as_of and that do not already hold a title of that rung valid that day.

    One SELECT from the stored results (EligibilityResult.holds_on: evaluated on or before
    as_of, valid through it): the rules never run here. A firm with no verdict holding that
    day, or one marked stale (its verdict is older than its facts), is left out until the
    ladder stores a fresh one: the after-save pipeline does so before its own targeted sweep,
    the stale catch-up within minutes, and the next scheduled sweep then reminds it.
    """
    r, e, q = EligibilityResult, Enterprise, Qualification
    return (
        select(e.id.label("enterprise_id"), r.kind.label("rung"))
        .select_from(r).join(e, e.id == r.enterprise_id)
        .where(r.kind.in_(list(KINDS)), r.verdict == "eligible", r.holds_on(as_of),
               r.kind == _next_rung_sql(), e.status == "active",
               e.eligibility_stale_since.is_(None),
               ~exists().where(q.enterprise_id == e.id, q.kind == r.kind, q.valid_on(as_of)))
    )


def newly_eligible(as_of: date, enterprise_ids: Iterable[int] | None = None
                   ) -> list[tuple[int, str]]:
    """newly_eligible_select() read back, sorted (for the CLI and tests; the sweep inserts
    straight from the SELECT)."""
    query = newly_eligible_select(as_of).subquery("found")
    stmt = select(query.c.enterprise_id, query.c.rung)
    if enterprise_ids is not None:
        stmt = stmt.where(query.c.enterprise_id.in_(list(enterprise_ids)))
    return sorted((row.enterprise_id, row.rung) for row in db.session.execute(stmt))
