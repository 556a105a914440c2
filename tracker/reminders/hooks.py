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
from tracker.commit_hooks import BeforeCommit
from tracker.enterprises.models import Contact, Enterprise
from tracker.incubation.models import Tenancy
from tracker.ladder.models import Application, Qualification
from tracker.signals import enterprise_changed

log = logging.getLogger(__name__)

_WATCHED = (Contact, Qualification, Application, Tenancy)
_installed = False
#: beyond this many touched enterprises a commit leaves the work to the scheduled sweep
MAX_TARGETED = 200


def _sweep_before_commit(touched: set[int]) -> None:
    from tracker.reminders.sweep import run_sweep
    from tracker.reminders.tasks import enqueue_pending_for

    ids = sorted(touched)
    if len(ids) > MAX_TARGETED:
        return  # a bulk import: the next scheduled sweep covers these in one pass
    run_sweep(today(), ids)
    enqueue_pending_for(ids)


_touched: BeforeCommit | None = None


def _on_enterprise_changed(enterprise_id, **_kwargs) -> None:
    _touched.add(enterprise_id)


def _after_flush(session: Session, _context) -> None:
    for obj in list(session.new) + list(session.dirty):
        if isinstance(obj, _WATCHED):
            _touched.add(obj.enterprise_id, session)
        elif isinstance(obj, Enterprise):
            _touched.add(obj.id, session)


def install() -> None:
    """Connect once per process (the listeners are on the Session class)."""
    global _installed, _touched
    if _installed:
        return
    _touched = BeforeCommit("reminders_touched", _sweep_before_commit)
    enterprise_changed.connect(_on_enterprise_changed, weak=False)
    event.listen(Session, "after_flush", _after_flush)
    _installed = True
