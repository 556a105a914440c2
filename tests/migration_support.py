"""Shared setup of the migration data-step tests: a scratch SQLite file, upgraded in two steps."""

from __future__ import annotations

from collections.abc import Callable, Iterable
from datetime import date, datetime
from pathlib import Path
from typing import Any, TypeVar

from flask_migrate import upgrade
from sqlalchemy import JSON, Connection, Executable, MetaData, Table, create_engine, insert

from config import TestConfig
from tracker import ROOT, create_app
from tracker.extensions import db

T = TypeVar("T")
MIGRATIONS = str(ROOT / "migrations")


def fill(table: Table, **values: Any) -> Executable:
    """An insert into `table` with every required column given some value (old schemas vary)."""
    row = dict(values)
    for column in table.columns:
        if column.name in row or column.nullable or column.primary_key \
                or column.server_default is not None:
            continue
        if isinstance(column.type, JSON):
            row[column.name] = []
            continue
        kind = column.type.python_type
        row[column.name] = {int: 1, str: "x", bool: False, date: date(2026, 1, 1)}.get(
            kind, datetime(2026, 1, 1))
    return insert(table).values(**row)


def upgrade_with_rows(folder: Path, start: str | None,
                      rows: Callable[[dict[str, Table]], Iterable[Executable]],
                      read: Callable[[Connection, dict[str, Table]], T],
                      end: str = "head") -> T:
    """Upgrade a scratch SQLite file to `start`, insert `rows(tables)`, upgrade to `end`,
    and return `read(connection, tables)` on the upgraded schema.

    Why: a migration's data step is only tested by rows stored under the old schema; the
    file is the test's own, never the shared test database. `start=None` skips the first
    step (a fresh database straight to `end`).
    """
    url = f"sqlite:///{folder / 'data.db'}"

    class ScratchConfig(TestConfig):
        SQLALCHEMY_DATABASE_URI = url

    app = create_app(ScratchConfig)
    engine = create_engine(url)
    try:
        with app.app_context():
            if start is not None:
                upgrade(directory=MIGRATIONS, revision=start)
                old = MetaData()
                old.reflect(engine)
                with engine.begin() as conn:
                    for statement in rows(dict(old.tables)):
                        conn.execute(statement)
            upgrade(directory=MIGRATIONS, revision=end)
            new = MetaData()
            new.reflect(engine)
            with engine.connect() as conn:
                return read(conn, dict(new.tables))
    finally:
        engine.dispose()
        with app.app_context():
            db.engine.dispose()
