"""Reminders follow saves at once: a targeted sweep for the touched enterprises before commit.

A new contact on a firm whose certificate expires next month is reminded now, not at the next
beat. The web request only writes rows and enqueues after commit (which never waits on a
broker that is down); the next sweep sends anything that could not be enqueued.
"""

from __future__ import annotations

import logging

from sqlalchemy import event
from sqlalchemy.orm import Session

from tracker.clock import today
from tracker.enterprises.models import Contact, Enterprise
from tracker.incubation.models import Tenancy
from tracker.ladder.models import Application, Qualification
from tracker.signals import enterprise_changed

log = logging.getLogger(__name__)

_KEY = "reminders_touched"
_WATCHED = (Contact, Qualification, Application, Tenancy)
_installed = False
#: beyond this many touched enterprises a commit leaves the work to the scheduled sweep
MAX_TARGETED = 200


def _session():
    from tracker.extensions import db

    return db.session()


def _touch(enterprise_id: int | None) -> None:
    if enterprise_id:
        _session().info.setdefault(_KEY, set()).add(enterprise_id)


def _on_enterprise_changed(enterprise_id, **_kwargs) -> None:
    _touch(enterprise_id)


def _after_flush(session: Session, _context) -> None:
    for obj in list(session.new) + list(session.dirty):
        if isinstance(obj, _WATCHED):
            session.info.setdefault(_KEY, set()).add(obj.enterprise_id)
        elif isinstance(obj, Enterprise):
            session.info.setdefault(_KEY, set()).add(obj.id)


def _before_commit(session: Session) -> None:
    if session.in_nested_transaction():
        return  # a SAVEPOINT (one import row) is not the commit; wait for the real one
    touched = session.info.pop(_KEY, None)
    if not touched:
        return
    from tracker.reminders.sweep import run_sweep
    from tracker.reminders.tasks import enqueue_pending_for

    ids = sorted(i for i in touched if i)
    if len(ids) > MAX_TARGETED:
        return  # a bulk import: the next scheduled sweep covers these in one pass
    run_sweep(today(), ids)
    enqueue_pending_for(ids)
    session.info.pop(_KEY, None)  # our own flush above must not trigger another round


def _after_rollback(session: Session) -> None:
    if not session.in_transaction():
        session.info.pop(_KEY, None)  # a failed row's SAVEPOINT keeps the other rows' ids


def install() -> None:
    """Connect once per process (the listeners are on the Session class)."""
    global _installed
    if _installed:
        return
    enterprise_changed.connect(_on_enterprise_changed, weak=False)
    event.listen(Session, "after_flush", _after_flush)
    event.listen(Session, "before_commit", _before_commit)
    event.listen(Session, "after_soft_rollback", lambda s, _t: _after_rollback(s))
    _installed = True
