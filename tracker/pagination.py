"""Keyset pagination: stable pages whose cost does not grow with the page number."""

from __future__ import annotations

import base64
import json
from dataclasses import dataclass
from datetime import date, datetime
from typing import Any

from flask import current_app, request
from sqlalchemy import Select, and_, literal, or_, tuple_

from tracker.inputs import MAX_INT, has_control_characters

#: the most rows one page (or one API call) may ask for with ?size=
MAX_PAGE_SIZE = 200


@dataclass(frozen=True)
class SortKey:
    """One orderable column; the primary key breaks ties so the order is total."""

    column: Any
    descending: bool = False
    kind: str = "str"  # how the cursor value is restored: str, int, date, datetime


#: the page sizes a list offers (25 is the default PAGE_SIZE; any ?size= up to MAX_PAGE_SIZE
#: is honoured)
PAGE_SIZES = (25, 50, 100)


def both_ways(name: str, keys: list[SortKey]) -> dict[str, list[SortKey]]:
    """`name` in the given order and `-name` in the reverse one (every key flipped, so the
    row-value comparison and the index still serve it, read backwards)."""
    flipped = [SortKey(k.column, not k.descending, k.kind) for k in keys]
    return {name: keys, f"-{name}": flipped}


def requested_sort(sorts: dict[str, list[SortKey]], default: str) -> str:
    """The ?sort= a list asked for when it is one of its whitelisted keys, else `default`."""
    value = request.args.get("sort", "")
    return value if value in sorts else default


def requested_size() -> int:
    """The ?size= a list asked for, kept within 1..MAX_PAGE_SIZE (PAGE_SIZE when not given)."""
    size = request.args.get("size", current_app.config["PAGE_SIZE"], type=int)
    return min(max(size, 1), MAX_PAGE_SIZE)


def encode_cursor(values: list[Any]) -> str:
    plain = [v.isoformat() if isinstance(v, date | datetime) else v for v in values]
    return base64.urlsafe_b64encode(json.dumps(plain).encode()).decode().rstrip("=")


def _refuse_constant(name: str) -> Any:
    raise ValueError(f"{name} is not a cursor value")


def decode_cursor(cursor: str, keys: list[SortKey]) -> list[Any] | None:
    """The sort values a cursor carries, or None for anything we did not write ourselves."""
    try:
        padded = cursor + "=" * (-len(cursor) % 4)
        raw = json.loads(base64.urlsafe_b64decode(padded), parse_constant=_refuse_constant)
        if not isinstance(raw, list) or len(raw) != len(keys):
            return None
        out = []
        for key, value in zip(keys, raw, strict=True):
            if key.kind == "int":
                if not isinstance(value, int) or abs(value) > MAX_INT:
                    return None
            elif key.kind == "date":
                value = date.fromisoformat(value)
            elif key.kind == "datetime":
                value = datetime.fromisoformat(value)
            else:
                if not isinstance(value, str | None):
                    return None  # we only ever write text (or null) for a text key
                value = str(value)
                if has_control_characters(value):
                    return None
            out.append(value)
        return out
    except (ValueError, TypeError, OverflowError, RecursionError, json.JSONDecodeError):
        return None


def _after(keys: list[SortKey], values: list[Any], backwards: bool):
    """Rows strictly after `values` in the sort order (or before, when going back)."""
    if len({key.descending for key in keys}) == 1:
        # One direction: a row-value comparison, which both SQLite and PostgreSQL answer
        # from a composite index instead of scanning.
        greater = keys[0].descending == backwards
        left = tuple_(*(key.column for key in keys))
        right = tuple_(*(literal(value, key.column.type)
                         for key, value in zip(keys, values, strict=True)))
        return left > right if greater else left < right
    clauses = []
    for i, key in enumerate(keys):
        forward_gt = not key.descending
        if backwards:
            forward_gt = not forward_gt
        cmp = key.column > values[i] if forward_gt else key.column < values[i]
        equals = [keys[j].column == values[j] for j in range(i)]
        clauses.append(and_(*equals, cmp))
    return or_(*clauses)


@dataclass
class Page:
    items: list[Any]
    next_cursor: str | None
    prev_cursor: str | None


def keyset_page(
    session,
    query: Select,
    keys: list[SortKey],
    *,
    size: int,
    after: str | None = None,
    before: str | None = None,
    row_values=None,
) -> Page:
    """Fetch one page of `query` ordered by `keys`; one SQL query whatever the page size."""
    backwards = bool(before) and not after
    cursor = decode_cursor(after or before or "", keys) if (after or before) else None
    if cursor is not None:
        query = query.where(_after(keys, cursor, backwards))
    order = []
    for key in keys:
        desc = key.descending != backwards
        order.append(key.column.desc() if desc else key.column.asc())
    rows = list(session.scalars(query.order_by(*order).limit(size + 1)).unique())
    more = len(rows) > size
    rows = rows[:size]
    if backwards:
        rows.reverse()
    values = row_values or (lambda row: [getattr(row, k.column.key) for k in keys])
    has_next = more if not backwards else True
    has_prev = (cursor is not None) if not backwards else more
    return Page(
        items=rows,
        next_cursor=encode_cursor(values(rows[-1])) if rows and has_next else None,
        prev_cursor=encode_cursor(values(rows[0])) if rows and has_prev else None,
    )
