"""Celery wired the official Flask way, plus enqueue-after-commit."""

from __future__ import annotations

import logging
from importlib import import_module

from celery import Celery, Task
from flask import Flask
from sqlalchemy import event
from sqlalchemy.orm import Session

from tracker.extensions import db
from tracker.features import FEATURES

log = logging.getLogger(__name__)


def celery_init_app(app: Flask) -> Celery:
    class FlaskTask(Task):
        def __call__(self, *args, **kwargs):
            with app.app_context():
                return self.run(*args, **kwargs)

    celery = Celery(app.name, task_cls=FlaskTask)
    celery.config_from_object(app.config["CELERY"])
    celery.set_default()
    # Each feature's tasks module registers its tasks and may add BEAT_SCHEDULE entries.
    schedule = dict(celery.conf.beat_schedule or {})
    for feature in FEATURES:
        try:
            tasks = import_module(f"tracker.{feature}.tasks")
        except ModuleNotFoundError as exc:
            if exc.name != f"tracker.{feature}.tasks":
                raise
            continue
        schedule.update(getattr(tasks, "BEAT_SCHEDULE", {}))
    celery.conf.beat_schedule = schedule
    app.extensions["celery"] = celery
    return celery


_PENDING_KEY = "tracker_pending_tasks"


def enqueue_after_commit(task, *args, **kwargs) -> None:
    """Publish a task only once the current transaction has committed.

    A broker that is down is logged and ignored: the rows the task works on are already
    in the database, and the next scheduled sweep picks them up.
    """
    session = db.session()
    session.info.setdefault(_PENDING_KEY, []).append((task, args, kwargs))


def _publish(task, args, kwargs) -> None:
    try:
        task.apply_async(args=args, kwargs=kwargs, retry=False)
    except Exception:  # broker unreachable: the sweep will pick the work up
        log.warning("could not enqueue %s%r; the next sweep will retry", task.name, args,
                    exc_info=True)


@event.listens_for(Session, "after_commit")
def _send_pending(session: Session) -> None:
    for task, args, kwargs in session.info.pop(_PENDING_KEY, []):
        _publish(task, args, kwargs)


@event.listens_for(Session, "after_soft_rollback")
def _drop_pending(session: Session, previous_transaction) -> None:
    if not session.in_transaction():
        session.info.pop(_PENDING_KEY, None)
