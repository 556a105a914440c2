"""Flask extensions, created once here and bound to the app in create_app()."""

import sqlite3
from collections.abc import Iterator
from contextlib import contextmanager
from contextvars import ContextVar

import click
from flask import current_app, has_app_context, has_request_context, request
from flask_babel import Babel
from flask_login import LoginManager
from flask_migrate import Migrate
from flask_sqlalchemy import SQLAlchemy
from flask_wtf import CSRFProtect
from sqlalchemy import Engine, MetaData, event
from sqlalchemy.orm import DeclarativeBase

# Stable constraint names keep Alembic diffs identical on SQLite and PostgreSQL.
NAMING_CONVENTION = {
    "ix": "ix_%(column_0_label)s",
    "uq": "uq_%(table_name)s_%(column_0_N_name)s",
    "ck": "ck_%(table_name)s_%(constraint_name)s",
    "fk": "fk_%(table_name)s_%(column_0_name)s_%(referred_table_name)s",
    "pk": "pk_%(table_name)s",
}


class Base(DeclarativeBase):
    metadata = MetaData(naming_convention=NAMING_CONVENTION)


db = SQLAlchemy(model_class=Base)
migrate = Migrate(compare_type=True, render_as_batch=True)
csrf = CSRFProtect()
login_manager = LoginManager()
babel = Babel()


def compared_on(dialect: str):
    """Alembic's include_object for one database: leaves out the indexes the models create only
    on another (Index.ddl_if), so autogenerate and the schema test see what upgrade builds."""

    def include(obj, _name, _type, reflected, _compare_to) -> bool:
        only_on = getattr(obj, "_ddl_if", None)
        return reflected or only_on is None or only_on.dialect in (None, dialect)

    return include


def conflict_insert(table):
    """INSERT for the session's database with its ON CONFLICT clauses (PostgreSQL or SQLite:
    both keep the conflict handling in SQL)."""
    from sqlalchemy.dialects import postgresql, sqlite

    dialect = db.session.get_bind().dialect.name
    return (postgresql if dialect == "postgresql" else sqlite).insert(table)


@event.listens_for(Engine, "connect")
def _sqlite_wal(dbapi_connection, connection_record) -> None:
    """Every SQLite file the process opens (the app's, and kombu's broker file) in WAL mode,
    so readers never wait for a writer. Web, worker and beat all come through create_app.
    """
    if not isinstance(dbapi_connection, sqlite3.Connection):
        return
    cursor = dbapi_connection.cursor()
    try:
        files = [row[2] for row in cursor.execute("PRAGMA database_list") if row[1] == "main"]
        if files and files[0]:  # "" is an in-memory database: no journal to switch
            cursor.execute("PRAGMA journal_mode=WAL")
    finally:
        cursor.close()


#: set by `writing()`; None: decided by the request's method (see begins_as_writer)
_WRITE_INTENT: ContextVar[bool | None] = ContextVar("tracker_write_intent", default=None)
#: methods that must not change anything (RFC 9110, 9.2.1): their transactions only read
SAFE_METHODS = frozenset({"GET", "HEAD", "OPTIONS", "TRACE"})


@contextmanager
def writing(intent: bool = True) -> Iterator[None]:
    """Transactions begun inside the block begin as writers (`intent`) or as readers.

    Background tasks run their bodies under it (celery_app.FlaskTask); a task that waits on
    the network between its reads and writes says `writing(False)`, so that it holds no lock
    meanwhile. A transaction already begun keeps what it began as.
    """
    token = _WRITE_INTENT.set(intent)
    try:
        yield
    finally:
        _WRITE_INTENT.reset(token)


@contextmanager
def outside_write_lock() -> Iterator[None]:
    """Slow work that only reads (a password hash and its lookups, a long check) in a
    transaction of its own that begins as a reader: on SQLite no write lock is held meanwhile,
    so other saves do not wait for it.

    What the session has open is committed first (by then only reads: a session lookup); the
    block's transaction is ended on the way out, so the next one begins afresh: in a POST or
    a task, as a writer again. The block must change nothing (it would be rolled back), and
    ORM objects are expired at both ends: copy out what the writes after it need.
    """
    db.session.commit()
    with writing(False):
        try:
            yield
        finally:
            db.session.rollback()


def begins_as_writer() -> bool:
    """Whether a transaction beginning now will write: inside `writing()` as it says; else in
    a request, by its method (POST, PUT, PATCH, DELETE write); else in one of the app's own
    CLI commands (`flask demo load`, imports, recompute, reminders, users...), like a task,
    unless the command says `begins_as_reader`. A page view, `flask shell`, `flask db` or a
    script begins as a reader."""
    intent = _WRITE_INTENT.get()
    if intent is not None:
        return intent
    if has_request_context():
        return request.method not in SAFE_METHODS
    return _in_app_command()


def begins_as_reader(command: click.Command) -> click.Command:
    """Mark one of the app's CLI commands as a reader (put it above `@...command(...)`): one
    that reads at length, or waits on the network, and writes, if at all, in transactions
    that begin with their write or inside `writing()`."""
    command.begins_as_writer = False  # type: ignore[attr-defined]
    return command


def _in_app_command() -> bool:
    """Inside a command of the current app's CLI (app.cli and its groups) that writes."""
    context = click.get_current_context(silent=True)
    if context is None or not has_app_context():
        return False
    if not getattr(context.command, "begins_as_writer", True):
        return False
    groups: list[click.Command] = [current_app.cli]
    while groups:
        for command in getattr(groups.pop(), "commands", {}).values():
            if command is context.command:
                return True
            groups.append(command)
    return False


def configure_sqlite(engine, *, busy_timeout_ms: int = 10_000) -> None:
    """Let SQLAlchemy, not pysqlite, manage transactions, so SAVEPOINTs nest correctly; a
    writer waits `busy_timeout_ms` for another's lock instead of failing at once.

    pysqlite's legacy mode never emits BEGIN before a SAVEPOINT, which makes RELEASE commit
    (SQLAlchemy docs, "Serializable isolation / Savepoints / Transactional DDL").

    A transaction that will write begins with BEGIN IMMEDIATE, taking the write lock before
    its first read (waiting on the busy timeout for it). With a plain BEGIN it would read
    first, and in WAL mode a read snapshot that another connection's commit has made stale
    cannot become a write transaction: its first write then fails at once with "database is
    locked" (SQLITE_BUSY_SNAPSHOT), which no busy timeout helps. Every save reads before it
    writes. Readers keep the deferred BEGIN, so a page view never waits for a writer.
    PostgreSQL is untouched: there a transaction that has read can always write.
    """
    if engine.dialect.name != "sqlite":
        return

    @event.listens_for(engine, "connect")
    def _connect(dbapi_connection, connection_record):
        dbapi_connection.isolation_level = None
        cursor = dbapi_connection.cursor()
        cursor.execute("PRAGMA foreign_keys=ON")
        cursor.execute(f"PRAGMA busy_timeout={int(busy_timeout_ms)}")
        cursor.close()

    @event.listens_for(engine, "begin")
    def _begin(connection):
        connection.exec_driver_sql("BEGIN IMMEDIATE" if begins_as_writer() else "BEGIN")
