"""The scheduled sweep: one full pass a day, then only the firms whose inputs changed.

On one calendar day the windows (sweep.window) and the cycle dates do not move, so after the
day's full pass a reminder can become due only because stored data changed. A change to one
firm either goes through the after-save pipeline's inline sweep (tracker.changes) or leaves a
mark (sweep_marks) in its own transaction: a bulk commit, a worker's recompute storing a new
verdict, a filing or tenant report written or removed. A change read for every firm (a rule,
an official or reporting cycle, a user's activation, role, zone, carrier, address, locale or
digest choice) asks for another full pass instead. Both are written by the flush listener
below or by the code that writes without the ORM, never by the sweep.

The sweep takes the marks it handles with DELETE … RETURNING inside its own transaction: a
mark committed later (or rewritten by a change still in flight, which the upsert's row lock
makes the DELETE wait for) stays for the next pass, and a rolled-back sweep keeps them all.
Exactly-once is still the ledger's UNIQUE key and the anti-join in sweep._insert.
"""

from __future__ import annotations

from collections.abc import Iterable
from datetime import date
from typing import Any

from sqlalchemy import bindparam, delete, event, func, inspect, select
from sqlalchemy.orm import Session

from tracker.clock import now_utc
from tracker.extensions import conflict_insert, db
from tracker.ladder.inputs import id_array
from tracker.reminders.models import SweepMark, SweepState

#: firms per INSERT of marks
CHUNK = 1000
#: firms per targeted run_sweep of a marked pass (one array parameter on PostgreSQL)
SWEEP_CHUNK = 5000
#: more marked firms than this: the pass reads every firm (the full pass costs about the same)
FULL_PASS_MARKS = 4 * SWEEP_CHUNK
#: the one row of sweep_state
STATE_ID = 1
#: user columns a recipient join reads: a change to one of them may add recipients anywhere
USER_COLUMNS = ("active", "role", "zone", "carrier_id", "email", "locale", "wants_digest")


def _session(session: Session | None) -> Session:
    return session or db.session()


def mark(enterprise_ids: Iterable[int | None], session: Session | None = None) -> int:
    """Mark these firms for the next scheduled sweep, in the caller's transaction.

    An upsert, not insert-or-ignore: rewriting marked_at locks an existing mark until this
    transaction ends, so a sweep deleting it meanwhile waits and then reads this change.
    Sorted ids and fixed chunks: two writers lock marks in the same order.
    """
    ids = sorted({int(i) for i in enterprise_ids if i is not None})
    if not ids:
        return 0
    connection = _session(session).connection()
    table = SweepMark.__table__
    now = now_utc()
    arrays = connection.dialect.name == "postgresql"
    for start in range(0, len(ids), CHUNK):
        part = ids[start:start + CHUNK]
        if arrays:  # one array parameter: a thousand-row VALUES is compiled and parsed each time
            stmt = conflict_insert(table).from_select(["enterprise_id", "marked_at"], select(
                func.unnest(id_array(part)), bindparam("now", now, type_=table.c.marked_at.type)))
        else:
            stmt = conflict_insert(table).values([{"enterprise_id": i, "marked_at": now}
                                                  for i in part])
        connection.execute(stmt.on_conflict_do_update(
            index_elements=["enterprise_id"], set_={"marked_at": stmt.excluded.marked_at}))
    return len(ids)


def request_full_pass(session: Session | None = None) -> None:
    """Ask the next scheduled sweep for a full pass (a change read for every firm)."""
    table = SweepState.__table__
    stmt = conflict_insert(table).values(id=STATE_ID, requested=1, served=0)
    _session(session).connection().execute(stmt.on_conflict_do_update(
        index_elements=["id"], set_={"requested": table.c.requested + 1}))


def take_marks() -> list[int]:
    """Delete the marks committed so far and return their firms (this transaction's own)."""
    table = SweepMark.__table__
    return sorted(db.session.scalars(delete(table).returning(table.c.enterprise_id)))


def _state() -> Any:
    t = SweepState.__table__
    return db.session.execute(select(t.c.full_pass_on, t.c.requested, t.c.served)
                              .where(t.c.id == STATE_ID)).first()


def _full_pass_done(as_of: date, requested: int) -> None:
    """Record the day's full pass and the requests it served (a later request stays)."""
    table = SweepState.__table__
    stmt = conflict_insert(table).values(id=STATE_ID, full_pass_on=as_of, requested=requested,
                                         served=requested)
    db.session.execute(stmt.on_conflict_do_update(
        index_elements=["id"], set_={"full_pass_on": as_of, "served": requested}))


def _needs_full_pass(state: Any, as_of: date) -> bool:
    return state is None or state.full_pass_on != as_of or state.served < state.requested


def full_pass(as_of: date, *, marks_taken: int = 0, state: Any = None) -> dict[str, Any]:
    """Every firm (the CLI, the generator, the day's first scheduled sweep): the marks it
    covers are taken and the pass recorded, so a scheduled sweep later that day reads only what
    changes after it. `state`: sweep_state as the caller already read it. The caller commits."""
    from tracker.reminders.sweep import run_sweep

    if state is None:
        state = _state()  # read before the marks: a request committed after waits for next time
    requested = state.requested if state else 0
    firms = marks_taken + len(take_marks())
    inserted = run_sweep(as_of)
    _full_pass_done(as_of, requested)
    return {"pass": "full", "firms": firms, "inserted": inserted}


def scheduled_sweep(as_of: date) -> dict[str, Any]:
    """The every-few-minutes sweep: the day's full pass once (or when asked), else only the
    marked firms. Returns {"pass": "full" | "marked", "firms": marked firms taken,
    "inserted": rows per rule code}. The caller commits."""
    from tracker.reminders.sweep import run_sweep

    state = _state()  # read before the marks: a request committed after waits for next time
    if _needs_full_pass(state, as_of):
        return full_pass(as_of, state=state)
    firms = take_marks()
    if len(firms) > FULL_PASS_MARKS:
        return full_pass(as_of, marks_taken=len(firms), state=state)
    inserted: dict[str, int] = {}
    for start in range(0, len(firms), SWEEP_CHUNK):
        for code, count in run_sweep(as_of, firms[start:start + SWEEP_CHUNK]).items():
            inserted[code] = inserted.get(code, 0) + count
    return {"pass": "marked", "firms": len(firms), "inserted": inserted}


# ---------------------------------------------------------------------------------------------
# The flush listener: ORM writes the after-save pipeline does not watch
# ---------------------------------------------------------------------------------------------


def _changed(session: Session, obj: Any, new: Any, deleted: Any,
             columns: tuple[str, ...] | None = None) -> bool:
    if obj in new or obj in deleted:
        return True
    if columns is None:
        return session.is_modified(obj)
    state = inspect(obj)
    return any(state.attrs[name].history.has_changes() for name in columns)


def _after_flush(session: Session, _context: Any) -> None:
    from tracker.accounts.models import User
    from tracker.incubation.models import ReportingCycle, Tenancy, TenantReport
    from tracker.reminders.models import Filing, OfficialCycle, ReminderRule

    new, deleted = session.new, session.deleted
    full = False
    firms: set[int] = set()
    tenancies: set[int] = set()
    for obj in (*new, *session.dirty, *deleted):
        kind = type(obj)
        if kind in (ReminderRule, OfficialCycle, ReportingCycle):
            full = full or _changed(session, obj, new, deleted)
        elif kind is User:
            full = full or _changed(session, obj, new, deleted, USER_COLUMNS)
        elif kind is Filing and _changed(session, obj, new, deleted):
            firms.add(obj.enterprise_id)
        elif kind is TenantReport and _changed(session, obj, new, deleted):
            tenancies.add(obj.tenancy_id)
    if tenancies:
        firms.update(session.connection().execute(
            select(Tenancy.enterprise_id).where(Tenancy.id.in_(sorted(tenancies)))).scalars())
    if firms:
        mark(firms, session)
    if full:
        request_full_pass(session)


_installed = False


def install() -> None:
    """Connect the listener once per process (on the Session class, as tracker.changes)."""
    global _installed
    if not _installed:
        event.listen(Session, "after_flush", _after_flush)
        _installed = True
