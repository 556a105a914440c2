"""The workload chart's reminders per status, from maintained per-zone figures kept exact as
the ledger moves.

A reminder about a firm is counted in the firm's "reminders" marks (tracker.dashboard
.aggregates): the after-save pipeline recounts a saved firm's marks, the full refresh every
firm's, and every other write that moves the ledger (sending, the reaper, the digest, staff
actions, the scheduled sweep) notes its firms (tracker.ledger_changes), whose "reminders"
marks `recount_ledger` recounts at the commit, under the figures' state lock. No counts
version bump: the change is counted in its own commit, so the figures stay current (and a
send does not make every other figure stale). Figures already stale are left alone: the
refresh counts the ledger as it is then.

Not a zone's: reminders about no firm (digests) and a zone officer's own about firms outside
their zone. Those are counted live, capped, on the recipient and status indexes: their number
follows the users and the days, not the register.
"""

from __future__ import annotations

from typing import Any

from sqlalchemy import ColumnElement, and_, exists, func, select

from tracker import ledger_changes
from tracker.accounts.roles import GLOBAL_READ_ROLES
from tracker.accounts.scope import enterprise_scope, reminder_scope
from tracker.clock import now_utc, today
from tracker.dashboard import aggregates
from tracker.enterprises.models import Enterprise
from tracker.extensions import db
from tracker.reminders.counts import StatusCounts, status_counts
from tracker.reminders.models import Reminder

#: firms recounted per statement (a scheduled sweep or a bulk retry may note tens of thousands:
#: one IN list of them all would pass the driver's parameter limit)
CHUNK = 1000


def recount_ledger(session: Any) -> bool:
    """At the commit: recount the reminders marks of the firms noted in this transaction
    (after the pipeline's stages, which recount their own firms whole), in chunks: the cost
    follows the rows the write changed. Returns whether it recounted (False: nothing noted,
    or the figures are not current)."""
    ids = sorted(ledger_changes.take(session))
    if not ids:
        return False
    state, _committed = aggregates.locked_current_state()
    if state is None:
        return False
    day = today()
    for start in range(0, len(ids), CHUNK):
        aggregates.recount_marks(ids[start:start + CHUNK], day, aggregates.LEDGER_MEASURES)
    state.updated_at = now_utc()
    db.session.flush()
    return True


def beyond_zones(user: Any) -> list[ColumnElement[bool]]:
    """The reminders in `user`'s ledger scope that no zone's figure counts, as disjoint
    clauses: about no firm (the bureau; a zone officer's own), and a zone officer's own about
    a firm outside their zone.

    Apart and with NOT EXISTS, not one OR with NOT IN: PostgreSQL then probes the firm of
    each own row by primary key (an anti-join) instead of hashing every firm of the zone."""
    if user.role in GLOBAL_READ_ROLES:
        return [Reminder.enterprise_id.is_(None)]
    own = and_(Reminder.recipient_type == "user", Reminder.recipient_id == user.id)
    in_scope = exists().where(Enterprise.id == Reminder.enterprise_id, enterprise_scope(user))
    return [and_(own, Reminder.enterprise_id.is_(None)),
            and_(own, Reminder.enterprise_id.is_not(None), ~in_scope)]


def reminder_counts(user: Any) -> StatusCounts:
    """Reminders per status in `user`'s ledger scope: the maintained zone figures plus the
    rows beyond them (counted up to the cap: "N+" when reached), or the ledger's own capped
    counts when the figures are not current or the scope is not a sum of zones."""
    kept = aggregates.sums(user, "reminders")
    if kept is None:
        return status_counts(user)
    rest = status_counts(user, parts=beyond_zones(user))
    totals = {status: n + kept.get((status, None), 0) for status, n in rest.items()}
    return StatusCounts(totals, rest.cap, rest.capped)


def reminder_counts_live(user: Any) -> dict[str, int]:
    """The straightforward count: every reminder in the ledger scope, no cap (tests)."""
    return dict(db.session.execute(select(Reminder.status, func.count())
                                   .where(reminder_scope(user)).group_by(Reminder.status)).all())
