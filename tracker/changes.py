"""The after-save pipeline: which firms a transaction touched, and what follows, in order.

One trigger: a flush that adds, changes or deletes a watched record (the firm itself, its
figures, titles, applications, contacts, tenancies) collects the firm's id in the session.
Just before the outermost commit the declared STAGES run over those ids, in the order written
below, each reading what the previous one stored (the reminder sweep's "newly eligible" reads
the eligibility results stage one just wrote). A commit touching more firms than
CHANGES_INLINE_LIMIT (an import) hands every stage's work to workers / the scheduled runs.

A SAVEPOINT's commit (one import row) is not the commit; a rolled-back SAVEPOINT keeps what
the other rows collected (an id, once collected, stays until the whole transaction ends —
recomputing a firm whose row was rolled back is harmless); only the end of the whole
transaction forgets it.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from datetime import date
from typing import Any

from flask import current_app
from sqlalchemy import event
from sqlalchemy.orm import Session

from tracker.extensions import db

#: the config key (config.Config; the default for configs without it) of the one bulk cut-off
LIMIT_KEY = "CHANGES_INLINE_LIMIT"
DEFAULT_INLINE_LIMIT = 200
#: the config key of how many firms one task message of a bulk commit carries (the worker
#: still works and commits in chunks of its own), and its default
TASK_IDS_KEY = "CHANGES_TASK_IDS"
DEFAULT_TASK_IDS = 2000

_KEY = "changes_touched_enterprises"
#: firm id -> the first day its dated records (transitions, stays) changed in this transaction
_DAYS_KEY = "changes_first_changed_day"


@dataclass(frozen=True)
class Stage:
    """One step after a save: `inline` inside the commit, `bulk` when the commit is too big."""

    name: str
    inline: Callable[[list[int]], Any]
    bulk: Callable[[list[int]], Any]


def _recompute_inline(ids: list[int]) -> None:
    from tracker.ladder.results import recompute

    recompute(ids, recount=False)  # the aggregates stage below recounts these firms


def _recompute_bulk(ids: list[int]) -> None:
    # Keep the commit short and its memory bounded; the nightly run catches up if the broker
    # cannot take the task now.
    from tracker.celery_app import enqueue_after_commit
    from tracker.ladder.results import mark_stale
    from tracker.ladder.tasks import recompute_many

    mark_stale(ids)  # shown as out of date until the worker (or the catch-up run) is done
    for part in task_parts(ids):
        enqueue_after_commit(recompute_many, part)


def _aggregates_inline(ids: list[int]) -> None:
    from tracker.dashboard.aggregates import recount_for

    recount_for(ids)  # set-based: the touched firms' own rows against their stored marks


def _aggregates_bulk(_ids: list[int]) -> None:
    # Most zones change and the workers recompute candidates later: one full recount after
    # the commit (the figures read as stale, so the dashboard counts live, until it is done)
    from tracker.dashboard.aggregates import request_refresh

    request_refresh()


def _sweep_inline(ids: list[int]) -> None:
    from tracker.clock import today
    from tracker.reminders.sweep import run_sweep
    from tracker.reminders.tasks import enqueue_pending_for

    run_sweep(today(), ids)
    enqueue_pending_for(ids)


def _sweep_bulk(ids: list[int]) -> None:
    """Marked in this commit: the next scheduled sweep (every few minutes) passes over them."""
    from tracker.reminders.incremental import mark

    mark(ids)


def _webhooks_inline(ids: list[int]) -> None:
    from tracker.webhooks.events import observe
    from tracker.webhooks.tasks import enqueue

    enqueue(observe(ids))  # the delivery tasks leave after the commit


def _webhooks_bulk(ids: list[int]) -> None:
    # Workers compare the stored states (each change still recorded once, by the guarded
    # state row), committing in chunks of the same size as the inline limit.
    from tracker.celery_app import enqueue_after_commit
    from tracker.webhooks.tasks import observe_many

    for part in task_parts(ids):
        enqueue_after_commit(observe_many, part, chunk=inline_limit())


def _history_days(ids: list[int]) -> dict[int, date]:
    """Firm id -> the first day this transaction's dated changes (transitions, stays) move."""
    days = db.session().info.get(_DAYS_KEY, {})
    return {firm: days[firm] for firm in ids if firm in days}


def _months_inline(ids: list[int]) -> None:
    from tracker.celery_app import enqueue_after_commit
    from tracker.dashboard import redo
    from tracker.dashboard.tasks import rebuild_marked_months

    zones = redo.mark(_history_days(ids))
    if not zones:
        return
    if redo.months_to_rewrite(zones) <= redo.inline_months():
        redo.rebuild(zones)  # the same commit: the trend chart's past points are right at once
    else:  # years back: a worker replays them; the chart says they are pending meanwhile
        enqueue_after_commit(rebuild_marked_months)


def _months_bulk(ids: list[int]) -> None:
    # Marked in this commit (the chart shows the months as pending); a worker rewrites them,
    # or the nightly beat run if the broker cannot take the task now.
    from tracker.celery_app import enqueue_after_commit
    from tracker.dashboard import redo
    from tracker.dashboard.tasks import rebuild_marked_months

    if redo.mark(_history_days(ids)):
        enqueue_after_commit(rebuild_marked_months)


#: the pipeline, in the order it runs; a later stage may rely on what an earlier one stored
STAGES: tuple[Stage, ...] = (
    Stage("eligibility", _recompute_inline, _recompute_bulk),
    # after eligibility: newly eligible reads the verdicts it just stored
    Stage("reminders", _sweep_inline, _sweep_bulk),
    # after eligibility: the candidate counts read the results it just stored; after the
    # sweep: the firms' reminder counts include the rows it made, and its rows are written
    # before the figures' state lock is taken, as every other ledger write does (a lock held
    # while inserting could wait on another sweep's row while that one waits for the lock)
    Stage("aggregates", _aggregates_inline, _aggregates_bulk),
    # a change dated in a finished month rewrites the stored month-ends from there on
    Stage("month_counts", _months_inline, _months_bulk),
    # last: it reports what the earlier stages and the save itself left stored
    Stage("webhooks", _webhooks_inline, _webhooks_bulk),
)


def inline_limit() -> int:
    """How many touched firms one commit handles itself; above this, workers do the work."""
    return int(current_app.config.get(LIMIT_KEY, DEFAULT_INLINE_LIMIT))


def task_parts(ids: list[int]) -> list[list[int]]:
    """A bulk commit's firms split into task messages of CHANGES_TASK_IDS firms.

    Publishing is the commit's cost (tens of ms a message on the embedded broker): an import
    of 50,000 firms sends 25 messages per stage, not 250. A message still carries no more ids
    than keeps it small, and enough messages that several workers share the work.
    """
    size = max(int(current_app.config.get(TASK_IDS_KEY, DEFAULT_TASK_IDS)), 1)
    return [ids[start:start + size] for start in range(0, len(ids), size)]


def touch(enterprise_id: int | None, session: Session | None = None) -> None:
    """Collect a firm whose stored consequences must follow this transaction's commit."""
    if enterprise_id is not None:
        (session or db.session()).info.setdefault(_KEY, set()).add(enterprise_id)


def hands_off(adding: int = 0, session: Session | None = None) -> bool:
    """Whether this transaction's commit hands its stages to workers, with `adding` new firms.

    Collected firms stay collected until the transaction ends, so once true it stays true: a
    bulk writer (an import's chunk of new firms) can insert them already marked stale, as the
    eligibility stage's hand-off would mark them, and that commit has no row to rewrite.
    """
    collected = (session or db.session()).info.get(_KEY, ())
    return len(collected) + adding > inline_limit()


def touched(session: Session | None = None) -> set[int]:
    """The firms collected so far in this transaction (a copy)."""
    return set((session or db.session()).info.get(_KEY, ()))


def run_stages(ids: list[int]) -> None:
    """Run every stage over these firms, in declared order, inline or handed off as one."""
    inline = len(ids) <= inline_limit()
    for stage in STAGES:
        (stage.inline if inline else stage.bulk)(ids)


def _dated() -> dict[type, Callable[..., date | None]]:
    """Records with an effective date: what a flush changed in them may lie in a past month."""
    from tracker.dashboard.redo import tenancy_day, transition_day
    from tracker.incubation.models import Tenancy
    from tracker.ladder.models import StageTransition

    return {StageTransition: transition_day, Tenancy: tenancy_day}


def _note_day(session: Session, obj: Any, *, new: bool, deleted: bool) -> None:
    day = _DATED[type(obj)](obj, new=new, deleted=deleted)
    firm = getattr(obj, "enterprise_id", None)
    if day is None or firm is None:
        return
    days = session.info.setdefault(_DAYS_KEY, {})
    days[firm] = min(day, days.get(firm, day))
    touch(firm, session)


def _watched() -> dict[type, Callable[[Any], int | None]]:
    from tracker.enterprises.models import AnnualMetrics, Contact, Enterprise
    from tracker.incubation.models import Tenancy
    from tracker.ladder.models import Application, Qualification

    owner = lambda obj: obj.enterprise_id  # noqa: E731 - the same accessor for five models
    return {Enterprise: lambda obj: obj.id, AnnualMetrics: owner, Contact: owner,
            Qualification: owner, Application: owner, Tenancy: owner}


_WATCHED: dict[type, Callable[[Any], int | None]] = {}
_DATED: dict[type, Callable[..., date | None]] = {}
#: the reminders ledger (tracker.ledger_changes): not a firm's change, counted all the same
_LEDGER: set[type] = set()


def _after_flush(session: Session, _context: Any) -> None:
    # session.new and .deleted build a new set on each access: read them once per flush
    # (asking `obj in session.new` per object made a 500-row flush quadratic)
    new, deleted = session.new, session.deleted
    for obj in (*new, *session.dirty, *deleted):
        enterprise_id = _WATCHED.get(type(obj))
        # is_modified: a form saved without a net change costs nothing downstream
        if enterprise_id is not None and (obj in new or obj in deleted
                                          or session.is_modified(obj)):
            touch(enterprise_id(obj), session)
        if type(obj) in _DATED:
            _note_day(session, obj, new=obj in new, deleted=obj in deleted)
        if type(obj) in _LEDGER:
            _note_ledger(session, obj, changed=obj in new or obj in deleted)


def _note_ledger(session: Session, obj: Any, *, changed: bool) -> None:
    """A reminder made, deleted or moved to another status (or firm) through the ORM: its
    firms' reminder counts are recounted at the commit (Core writes note their own)."""
    from sqlalchemy import inspect

    from tracker import ledger_changes

    attrs = inspect(obj).attrs
    firm = attrs.enterprise_id.history
    if changed or firm.has_changes() or attrs.status.history.has_changes():
        ledger_changes.note([obj.enterprise_id, *firm.deleted], session)


def _before_commit(session: Session) -> None:
    if session.in_nested_transaction():
        return  # a SAVEPOINT's commit: the real one comes later
    # Commit runs this hook before its own final flush: flush now, so changes still pending
    # are collected by this commit rather than carried over to the next one.
    session.flush()
    collected = session.info.pop(_KEY, None)
    if collected:
        from tracker import snapshots

        snapshots.bump()  # kept dashboard figures count these firms: stale after this commit
        run_stages(sorted(collected))
        session.info.pop(_KEY, None)  # the stages' own flushes must not start another round
    session.info.pop(_DAYS_KEY, None)
    from tracker import snapshots
    from tracker.dashboard.ledger_counts import recount_ledger

    recount_ledger(session)  # after the stages: they recount their own firms whole
    snapshots.apply_bump(session)  # last: the counter's row lock is held for the commit only


def _after_soft_rollback(session: Session, _previous: Any) -> None:
    if not session.in_transaction():
        session.info.pop(_KEY, None)
        session.info.pop(_DAYS_KEY, None)
        from tracker import ledger_changes, snapshots

        ledger_changes.take(session)
        snapshots.discard_bump(session)


_installed = False


def install() -> None:
    """Connect the trigger once per process (the listeners are on the Session class)."""
    global _installed
    if _installed:
        return
    _WATCHED.update(_watched())
    _DATED.update(_dated())
    from tracker.reminders.models import Reminder

    _LEDGER.add(Reminder)
    event.listen(Session, "after_flush", _after_flush)
    event.listen(Session, "before_commit", _before_commit)
    event.listen(Session, "after_soft_rollback", _after_soft_rollback)
    _installed = True
