"""The ledger's per-status counts, capped so they cost what is shown, not the ledger's size.

`sent` (and `handled`, `digested`) grow for as long as the product runs; a GROUP BY over every
row made each ledger and dashboard request slower year by year (issue 12). Each status is now
counted over at most cap+1 rows read off the status index: exact below the cap (the failed,
sending and pending rows staff act on), shown as "10,000+" above it.
"""

from __future__ import annotations

from typing import Any

from flask import current_app
from flask_babel import gettext as _
from sqlalchemy import func, literal, select

from tracker.accounts.scope import reminder_scope_parts
from tracker.enterprises.queries import COUNT_CAP
from tracker.extensions import db
from tracker.reminders.models import STATUSES, Reminder


class StatusCounts(dict[str, int]):
    """status → count, where a status in `capped` has at least `cap` rows (shown "N+")."""

    def __init__(self, counts: dict[str, int], cap: int, capped: set[str]) -> None:
        super().__init__(counts)
        self.cap = cap
        self.capped = capped

    def label(self, status: str) -> str:
        """The count as shown: "1,234", or "10,000+" when counting stopped at the cap."""
        return f"{self.get(status, 0):,}" + ("+" if status in self.capped else "")

    def note(self) -> str:
        """What the "+" means, for pages that show a capped count ("" when none is)."""
        if not self.capped:
            return ""
        return _("带“+”的数字为下限：超过 %(cap)s 条后不再逐条计数", cap=f"{self.cap:,}")


def count_cap() -> int:
    return int(current_app.config.get("LEDGER_COUNT_CAP") or COUNT_CAP)


def status_counts(user: Any, cap: int | None = None,
                  parts: list[Any] | None = None) -> StatusCounts:
    """Reminders per status in the user's scope, each counted up to `cap` (one statement).

    Every status is a scalar subquery `count(*) FROM (SELECT 1 … WHERE status = :s LIMIT
    cap+1)`: the status index finds the rows and the LIMIT stops the read, so the cost is
    bounded by the cap whatever the ledger holds. A scoped user's statuses are counted in
    disjoint parts (`reminder_scope_parts`), each on an index of its own; `parts`: count
    these disjoint clauses instead (the dashboard's rows beyond its maintained zone figures).
    """
    cap = cap or count_cap()
    parts = parts if parts is not None else reminder_scope_parts(user)
    columns = []
    for status in STATUSES:
        for i, part in enumerate(parts):
            rows = (select(literal(1)).select_from(Reminder)
                    .where(Reminder.status == status, part).limit(cap + 1).subquery())
            columns.append(select(func.count()).select_from(rows).scalar_subquery()
                           .label(f"{status}_{i}"))
    found = db.session.execute(select(*columns)).one()
    totals = {status: sum(int(n) for n in found[i * len(parts):(i + 1) * len(parts)])
              for i, status in enumerate(STATUSES)}
    capped = {status for status, n in totals.items() if n > cap}
    return StatusCounts({status: min(n, cap) for status, n in totals.items()}, cap, capped)
