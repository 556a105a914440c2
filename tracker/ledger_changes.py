"""Firms whose reminders changed ledger status in this transaction, noted for its commit.

The ledger moves all day without any firm being saved (a sender claims, sends or fails; the
reaper takes rows back; staff mark handled or resend; a contact unsubscribes; the digest folds
items; the scheduled sweep makes rows), so none of it passes the after-save pipeline. Each such
write notes here the firms whose reminders it changed — from its statement's RETURNING, or,
for rows changed through the ORM, from the flush (tracker.changes) — and the commit hook has
the dashboard's maintained reminder counts recount exactly those firms
(tracker.dashboard.ledger_counts). The reminders feature stays unaware of the dashboard.
"""

from __future__ import annotations

from collections.abc import Iterable
from typing import Any

from tracker.extensions import db

#: session.info: the firm ids noted in this transaction
KEY = "ledger_changed_firms"


def note(enterprise_ids: Iterable[int | None], session: Any = None) -> None:
    """These firms' reminders changed status, were made or were deleted in this transaction
    (ids of None, reminders about no firm, are nobody's count: left out)."""
    ids = {i for i in enterprise_ids if i is not None}
    if ids:
        (session or db.session()).info.setdefault(KEY, set()).update(ids)


def noted(session: Any = None) -> set[int]:
    """The firms noted so far in this transaction (the set itself: a recount may discard)."""
    return (session or db.session()).info.get(KEY, set())


def take(session: Any) -> set[int]:
    """The firms noted in this transaction, forgotten (the commit recounts them)."""
    return session.info.pop(KEY, None) or set()
