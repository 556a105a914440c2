"""Which database errors a background task tries again, and how it tries."""

from __future__ import annotations

import sqlite3

import psycopg.errors as pg
import pytest
from sqlalchemy.exc import DBAPIError, IntegrityError, OperationalError

from tracker.celery_app import call_with_retries, is_transient, retry_transient


def _wrapped(orig: Exception, cls=OperationalError, **kwargs) -> DBAPIError:
    """The error as SQLAlchemy raises it around the driver's."""
    return cls("INSERT ...", {}, orig, **kwargs)


@pytest.mark.parametrize(("error", "transient"), [
    (_wrapped(sqlite3.OperationalError("database is locked")), True),
    (_wrapped(sqlite3.OperationalError("database table is locked")), True),
    (_wrapped(sqlite3.OperationalError("database is busy")), True),
    (_wrapped(sqlite3.OperationalError("no such table: enterprises")), False),
    (_wrapped(sqlite3.IntegrityError("UNIQUE constraint failed"), IntegrityError), False),
    (_wrapped(pg.SerializationFailure("could not serialize access")), True),
    (_wrapped(pg.DeadlockDetected("deadlock detected")), True),
    (_wrapped(pg.AdminShutdown("terminating connection")), True),
    (_wrapped(pg.UniqueViolation("duplicate key"), IntegrityError), False),
    (_wrapped(pg.UndefinedTable("relation does not exist"), DBAPIError), False),
    (_wrapped(sqlite3.OperationalError("disk I/O error"), connection_invalidated=True), True),
    (ValueError("not a database error"), False),
])
def test_transient_errors(error, transient):
    assert is_transient(error) is transient


def test_transient_errors_are_tried_again_then_raised(app):
    calls = []

    @retry_transient
    def flaky(fail_times: int) -> str:
        calls.append(1)
        if len(calls) <= fail_times:
            raise _wrapped(sqlite3.OperationalError("database is locked"))
        return "ok"

    assert flaky(2) == "ok" and len(calls) == 3
    calls.clear()
    with pytest.raises(OperationalError):
        flaky(99)
    assert len(calls) == app.config["TASK_RETRY_ATTEMPTS"]


def test_other_errors_are_raised_at_once(app):
    calls = []

    def broken() -> None:
        calls.append(1)
        raise _wrapped(pg.UniqueViolation("duplicate key"), IntegrityError)

    with pytest.raises(IntegrityError):
        call_with_retries(broken)
    assert len(calls) == 1
