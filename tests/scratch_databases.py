"""Databases of a test's own (PostgreSQL, or a SQLite file), for committed data that other
connections and processes must see, and apps bound to them.

A fixed name (the faults test had one) made two concurrent runs on one server (two CI jobs, a
SQLite and a PostgreSQL pass side by side) drop each other's database mid-test. The name is the
suite's database name (TEST_POSTGRES_URL), the purpose, this process and a random part (two CI
containers may both run as pid 100), and the database is dropped when the test is done.
"""

from __future__ import annotations

import os
import sqlite3
import uuid
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any
from urllib.parse import urlsplit

from tests.conftest import POSTGRES_URL, require_service

#: the maintenance database, to create and drop the scratch ones from
PG_ADMIN = POSTGRES_URL.rsplit("/", 1)[0] + "/postgres"
#: PostgreSQL's identifier limit (longer names are silently truncated, and could then collide)
MAX_NAME = 63


def scratch_name(purpose: str) -> str:
    """<suite database>_<purpose>_<pid>_<random>: unique to this run, traceable to its suite."""
    suite = urlsplit(POSTGRES_URL).path.lstrip("/") or "test"
    unique = f"_{os.getpid()}_{uuid.uuid4().hex[:6]}"  # kept whole: it is what differs
    return f"{suite}_{purpose}"[:MAX_NAME - len(unique)] + unique


def scratch_url(name: str) -> str:
    return PG_ADMIN.rsplit("/", 1)[0] + "/" + name


def database_exists(name: str) -> bool:
    import psycopg

    with psycopg.connect(PG_ADMIN, autocommit=True) as conn:
        return conn.execute("SELECT 1 FROM pg_database WHERE datname = %s",
                            (name,)).fetchone() is not None


def drop_database(name: str) -> None:
    import psycopg

    with psycopg.connect(PG_ADMIN, autocommit=True) as conn:
        conn.execute(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')


@contextmanager
def scratch_database(purpose: str) -> Iterator[str]:
    """An empty database of this run's own (its URL), dropped on the way out whatever happened.

    Skips on a laptop without PostgreSQL, fails under CI (require_service)."""
    import psycopg

    require_service("PostgreSQL", PG_ADMIN, 5432)
    name = scratch_name(purpose)
    with psycopg.connect(PG_ADMIN, autocommit=True) as conn:
        conn.execute(f'CREATE DATABASE "{name}"')
    try:
        yield scratch_url(name)
    finally:
        drop_database(name)


@contextmanager
def app_on(url: str, *, own_session: bool = True, **settings: Any) -> Iterator[Any]:
    """An app on the database at `url` with the schema created: committed data that other
    connections (threads, worker processes) see; `settings` override the test configuration.
    `own_session`: db.session is a plain committing scoped session meanwhile, not the suite's.
    No app context is held. The engine is disposed on the way out and the suite's session and
    default Celery app are restored.
    """
    from celery import current_app as current_celery

    import config
    from tracker import create_app
    from tracker.extensions import db

    class OwnConfig(config.TestConfig):
        SQLALCHEMY_DATABASE_URI = url

    for name, value in settings.items():
        setattr(OwnConfig, name, value)
    original, celery = db.session, current_celery._get_current_object()
    if own_session:
        db.session = db._make_scoped_session({})
    try:
        app = create_app(OwnConfig)
        with app.app_context():
            db.create_all()
        try:
            yield app
        finally:
            with app.app_context():
                db.session.remove()
                db.engine.dispose()
    finally:
        db.session = original
        celery.set_default()


@contextmanager
def scratch_app(purpose: str, *, own_session: bool = True) -> Iterator[Any]:
    """An app on a scratch PostgreSQL database (app_on), dropped afterwards."""
    with scratch_database(purpose) as url, app_on(url, own_session=own_session) as app:
        yield app


@contextmanager
def sqlite_file_app(folder: Path, **settings: Any) -> Iterator[Any]:
    """An app on `folder`/tracker.db (WAL, as the embedded default runs), for tests where a
    second connection must see committed rows: the in-memory test database has none."""
    with app_on(f"sqlite:///{folder / 'tracker.db'}", **settings) as app:
        yield app


def other_commit(other: sqlite3.Connection) -> str:
    """Another connection to a SQLite file tries to commit a write (its table other_writer):
    "committed", or "waits" (someone holds the write lock)."""
    try:
        other.execute("INSERT INTO other_writer VALUES (1)")
    except sqlite3.OperationalError as exc:
        if "locked" not in str(exc):
            raise
        return "waits"
    return "committed"


@contextmanager
def other_commits_after_first_read(engine: Any, other: sqlite3.Connection) -> Iterator[list[str]]:
    """Right after the first SELECT that `engine` runs inside the block, `other` tries to
    commit (other_commit); what happened is appended to the list yielded."""
    from sqlalchemy import event

    outcome: list[str] = []

    def after(conn, cursor, statement, parameters, context, executemany):
        if not outcome and statement.lstrip().upper().startswith(("SELECT", "WITH")):
            outcome.append(other_commit(other))

    event.listen(engine, "after_cursor_execute", after)
    try:
        yield outcome
    finally:
        event.remove(engine, "after_cursor_execute", after)
