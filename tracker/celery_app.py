"""Celery wired the official Flask way, enqueue-after-commit, and retry of transient DB errors."""

from __future__ import annotations

import functools
import logging
import random
import sqlite3
import time
from collections.abc import Callable
from importlib import import_module
from typing import Any, TypeVar

from celery import Celery, Task
from flask import Flask, current_app
from sqlalchemy import event
from sqlalchemy.exc import DBAPIError, DisconnectionError, OperationalError
from sqlalchemy.orm import Session

from tracker.extensions import db, writing
from tracker.features import FEATURES

log = logging.getLogger(__name__)


def celery_init_app(app: Flask) -> Celery:
    class FlaskTask(Task):
        #: begin the body's transactions as a writer (SQLite: BEGIN IMMEDIATE, see
        #: extensions.configure_sqlite): a task reads before it writes, and another process
        #: committing in between would otherwise fail its first write. False (a task option)
        #: for a task that waits on the network or reads at length between its commits: it
        #: must not hold the write lock, and every web save with it, meanwhile.
        begins_as_writer = True

        def __call__(self, *args, **kwargs):
            with app.app_context(), writing(self.begins_as_writer):
                return self.run(*args, **kwargs)

    celery = Celery(app.name, task_cls=FlaskTask)
    celery.config_from_object(app.config["CELERY"])
    celery.set_default()
    # Each feature's tasks module (and the job reaper) registers its tasks and may add
    # BEAT_SCHEDULE entries; they are found by name, as the features are.
    schedule = dict(celery.conf.beat_schedule or {})
    for module_name in (*(f"tracker.{feature}.tasks" for feature in FEATURES), "tracker.jobs",
                        "tracker.maintenance"):
        try:
            tasks = import_module(module_name)
        except ModuleNotFoundError as exc:
            if exc.name != module_name:
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


def publish(task, *args, countdown: int | None = None, **kwargs) -> None:
    """Publish a task now (outside a transaction, or after its commit).

    A broker that is down is logged and ignored: the rows the task works on are in the
    database, and the next scheduled sweep or nightly run picks them up.
    """
    try:
        task.apply_async(args=args, kwargs=kwargs, countdown=countdown, retry=False)
    except Exception:  # broker unreachable: the sweep will pick the work up
        log.warning("could not enqueue %s%r; the next sweep will retry", task.name, args,
                    exc_info=True)


@event.listens_for(Session, "after_commit")
def _send_pending(session: Session) -> None:
    for task, args, kwargs in session.info.pop(_PENDING_KEY, []):
        publish(task, *args, **kwargs)


@event.listens_for(Session, "after_soft_rollback")
def _drop_pending(session: Session, previous_transaction) -> None:
    if not session.in_transaction():
        session.info.pop(_PENDING_KEY, None)


# --- transient database errors ---------------------------------------------------------------

#: PostgreSQL SQLSTATEs that mean "try the same transaction again": serialization failure,
#: deadlock detected
_RETRY_SQLSTATES = {"40001", "40P01"}

F = TypeVar("F", bound=Callable[..., Any])


def is_transient(exc: BaseException) -> bool:
    """An error that the same work, tried again a moment later, would likely not meet.

    SQLite answers "database is locked" when another connection holds the write lock past the
    busy timeout, and at once when a read transaction tries to write after another connection
    committed (WAL snapshot conflict); PostgreSQL aborts serialization conflicts and deadlocks;
    any backend can drop a connection.
    """
    if isinstance(exc, DisconnectionError):
        return True
    if not isinstance(exc, DBAPIError):
        return False
    if exc.connection_invalidated:
        return True
    orig = exc.orig
    if isinstance(orig, sqlite3.OperationalError):
        text = str(orig).lower()
        return "locked" in text or "busy" in text
    code = getattr(orig, "sqlstate", None) or getattr(orig, "pgcode", None)
    if code in _RETRY_SQLSTATES or (code or "").startswith("08"):  # 08xxx: connection lost
        return True
    # psycopg raises OperationalError for a server gone away or shutting down
    return isinstance(exc, OperationalError) and not isinstance(orig, sqlite3.Error)


def call_with_retries(func: Callable[..., Any], *args: Any, **kwargs: Any) -> Any:
    """Run one unit of work (which commits itself), again after a transient DB error.

    Each failed try is rolled back before the next; the wait doubles with some jitter so two
    workers that collided do not collide again. The last error is raised as it is.
    """
    from tracker.extensions import db

    config = current_app.config
    tries = max(int(config.get("TASK_RETRY_ATTEMPTS", 5)), 1)
    base = float(config.get("TASK_RETRY_BASE_SECONDS", 0.5))
    for attempt in range(1, tries + 1):
        try:
            return func(*args, **kwargs)
        except Exception as exc:
            db.session.rollback()
            if attempt == tries or not is_transient(exc):
                raise
            delay = base * 2 ** (attempt - 1) * (1 + random.random() / 2)  # noqa: S311
            log.warning("%s: transient database error (%s), try %d of %d again in %.1f s",
                        getattr(func, "__name__", func), exc.__class__.__name__, attempt,
                        tries, delay)
            time.sleep(delay)
    raise AssertionError("unreachable")  # pragma: no cover


def retry_transient(func: F) -> F:
    """Decorator for task bodies: `call_with_retries` around the whole body."""

    @functools.wraps(func)
    def wrapper(*args: Any, **kwargs: Any) -> Any:
        return call_with_retries(func, *args, **kwargs)

    return wrapper  # type: ignore[return-value]
