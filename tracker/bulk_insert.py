"""Many new rows of one table in one statement: bulk writers (an import's chunk) use it.

On PostgreSQL the rows go in as one JSON array, expanded by the server into the table's row type
(`INSERT … SELECT … FROM json_populate_recordset(…) RETURNING …`): one parameter, one round trip,
and the stored rows come back with their ids, instead of an executemany that costs the driver
and SQLAlchemy a parameter set per row and a read back afterwards. Elsewhere (SQLite) a Core
executemany, then the rows read back by a key the caller names.
"""

from __future__ import annotations

from datetime import date, datetime
from decimal import Decimal
from typing import Any

import orjson
from sqlalchemy import JSON, Table, insert, select, text
from sqlalchemy.types import TypeDecorator

from tracker.extensions import db


def insert_rows(table: Table, rows: list[dict[str, Any]], *,
                read_back: Any = None) -> list[Any]:
    """INSERT `rows` (dicts of column values; others take their defaults as with `insert()`).

    With `read_back` (a column of `table` whose values the rows carry), returns the stored rows
    (every column, ordered by id) as `select(table)` would; without it, returns [].
    """
    if not rows:
        return []
    shapes: dict[tuple[str, ...], list[dict[str, Any]]] = {}
    for row in rows:  # rows that leave a column out take its server default: their own statement
        shapes.setdefault(tuple(row), []).append(row)
    dialect = db.session.get_bind().dialect
    array_path = dialect.name == "postgresql" and _plain_defaults(table)
    stored: dict[int, Any] = {}
    unread: set[Any] = set()  # read_back keys of rows stored without RETURNING
    for given, group in shapes.items():
        group = _with_defaults(table, given, group)
        names = tuple(group[0])
        if array_path and not _json_nulls(table, names, group):
            stored.update((r.id, r) for r in _json_insert(table, names, group, dialect,
                                                            read_back is not None))
        else:
            db.session.execute(insert(table), group)
            if read_back is not None:
                unread.update(row[read_back.key] for row in group)
    if unread:  # once, after every statement: a key's rows may span several shapes
        for row in db.session.execute(select(table).where(read_back.in_(unread))):
            stored.setdefault(row.id, row)
    return [stored[i] for i in sorted(stored)]


def _with_defaults(table: Table, given: tuple[str, ...],
                   rows: list[dict[str, Any]]) -> list[dict[str, Any]]:
    """Each row with its left-out columns' Python-side defaults, called per row as Core does."""
    missing = [c for c in table.c if c.default is not None and c.key not in given]
    values = {c.key: c.default.arg for c in missing if c.default.is_scalar}
    calls = [(c.key, c.default.arg) for c in missing if c.default.is_callable]
    filled = []
    for row in rows:
        row = {**row, **values}
        for key, call in calls:
            row[key] = call(None)
        filled.append(row)
    return filled


def _plain_defaults(table: Table) -> bool:
    """Every Python-side default is a value or a function (a SQL default renders in Core)."""
    return all(c.default is None or c.default.is_scalar or c.default.is_callable
               for c in table.c)


def _json_nulls(table: Table, names: tuple[str, ...], rows: list[dict[str, Any]]) -> bool:
    """A None for a JSON column: stored as JSON null by insert(), as SQL NULL by the array."""
    json_columns = [n for n in names if isinstance(table.c[n].type, JSON)]
    return any(row[n] is None for n in json_columns for row in rows)


def _json_insert(table: Table, names: tuple[str, ...], rows: list[dict[str, Any]],
                 dialect: Any, returning: bool) -> list[Any]:
    quote = dialect.identifier_preparer.quote
    columns = ", ".join(quote(n) for n in names)
    # the column types' own bind step in Python (UTCDateTime's UTC); the rows are our copies
    decorated = [(n, table.c[n].type) for n in names
                 if isinstance(table.c[n].type, TypeDecorator)]
    for row in rows:
        for name, type_ in decorated:
            row[name] = type_.process_bind_param(row[name], dialect)
    # orjson: the standard encoder was a sixth of the writer's Python in an import (1 s of 6 for
    # 50,000 firms); it writes datetimes itself, and int keys as json.dumps does
    payload = orjson.dumps(rows, default=_plain, option=orjson.OPT_NON_STR_KEYS).decode()
    # names from the table's own metadata, quoted; the values travel as the one parameter
    sql = (f"INSERT INTO {quote(table.name)} ({columns}) SELECT {columns} "  # noqa: S608
           f"FROM json_populate_recordset(NULL::{quote(table.name)}, CAST(:rows AS json))")
    if not returning:
        db.session.execute(text(sql), {"rows": payload})
        return []
    statement = text(f"{sql} RETURNING {', '.join(quote(c.name) for c in table.c)}")
    return list(db.session.execute(statement.columns(*table.c), {"rows": payload}))


def _plain(value: Any) -> Any:
    """JSON for what the driver would have sent as a typed value; the server casts it back."""
    if isinstance(value, datetime | date):
        return value.isoformat()
    if isinstance(value, Decimal):
        return str(value)
    raise TypeError(f"{type(value).__name__} is not JSON serializable")
