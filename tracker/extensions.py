"""Flask extensions, created once here and bound to the app in create_app()."""

import sqlite3

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


def configure_sqlite(engine, *, busy_timeout_ms: int = 10_000) -> None:
    """Let SQLAlchemy, not pysqlite, manage transactions, so SAVEPOINTs nest correctly; a
    writer waits `busy_timeout_ms` for another's lock instead of failing at once.

    pysqlite's legacy mode never emits BEGIN before a SAVEPOINT, which makes RELEASE commit
    (SQLAlchemy docs, "Serializable isolation / Savepoints / Transactional DDL").
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
        connection.exec_driver_sql("BEGIN")
