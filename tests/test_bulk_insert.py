"""tracker.bulk_insert stores what a Core insert() stores, on PostgreSQL in one statement."""

from __future__ import annotations

from datetime import UTC, date, datetime
from decimal import Decimal
from typing import Any

import pytest
from sqlalchemy import insert, select
from sqlalchemy.exc import IntegrityError

from tests.conftest import count_queries
from tests.factories import make_enterprise, valid_uscc
from tracker.audit.models import AuditEvent
from tracker.bulk_insert import insert_rows
from tracker.clock import frozen
from tracker.enterprises.models import AnnualMetrics, Enterprise
from tracker.extensions import db

NOW = datetime(2026, 6, 30, 8, 15, 30, 123456, tzinfo=UTC)


def _firm(n: int, **values: Any) -> dict[str, Any]:
    return {"uscc": valid_uscc(95300 + n), "name": "天津批量写入公司", "zone": "hitech",
            "name_key": f"key{n}", "name_pinyin": "pin \"yin\"", "name_initials": "p",
            "founded_on": date(2019, 3, 5), "tech_field": "electronic_information",
            "industry_tags": ["新材料", {"k": [1, 2.5, None]}], "description": "行\n二 \\ '",
            "eligibility_stale_since": NOW, **values}


def _stored(table: Any, ids: list[int]) -> list[dict[str, Any]]:
    rows = db.session.execute(select(table).where(table.c.id.in_(ids)).order_by(table.c.id))
    return [{k: v for k, v in row._mapping.items() if k not in ("id", "uscc", "name_key")}
            for row in rows]


def _by_core(table: Any, rows: list[dict[str, Any]], key: str) -> list[int]:
    for row in rows:  # an executemany takes its columns from its first row
        db.session.execute(insert(table), [row])
    return list(db.session.scalars(select(table.c.id).where(
        table.c[key].in_([r[key] for r in rows])).order_by(table.c.id)))


def test_the_stored_rows_are_those_an_insert_stores():
    """Every column, defaults included: JSON, text with quotes, dates, zones, Decimals."""
    table = Enterprise.__table__
    with frozen(NOW):
        ours = insert_rows(table, [_firm(1), _firm(2, restricted_industry=True, website=None)],
                           read_back=table.c.uscc)
        core = _by_core(table, [_firm(3), _firm(4, restricted_industry=True, website=None)],
                        "uscc")
    assert [r.uscc for r in ours] == [valid_uscc(95301), valid_uscc(95302)]
    assert ours[0].id < ours[1].id
    assert ours[0].industry_tags == ["新材料", {"k": [1, 2.5, None]}]
    assert ours[0].eligibility_stale_since == NOW
    assert _stored(table, [r.id for r in ours]) == _stored(table, core)
    firm = make_enterprise()
    metrics = AnnualMetrics.__table__
    figures = [{"enterprise_id": firm.id, "fiscal_year": year, "revenue": Decimal("1234.50"),
                "rd_expense": Decimal("0.05"), "employees": 12, "source": "import"}
               for year in (2020, 2021)]
    with frozen(NOW):
        ours = insert_rows(metrics, figures[:1], read_back=metrics.c.enterprise_id)
        core = _by_core(metrics, figures[1:], "fiscal_year")
    assert ours[0].revenue == Decimal("1234.50")
    stored = _stored(metrics, [ours[0].id, *core])
    assert stored[0] == {**stored[1], "fiscal_year": 2020}


def test_a_json_none_is_stored_as_an_insert_stores_it():
    """None for a JSON column is JSON null under insert(): such rows keep that path."""
    table = AuditEvent.__table__
    event = {"entity_type": "enterprise", "entity_id": 1, "action": "create", "changes": None}
    with frozen(NOW):
        ours = insert_rows(table, [{**event, "summary": "ours"}], read_back=table.c.summary)
        core = _by_core(table, [{**event, "summary": "core"}], "summary")
    stored = _stored(table, [ours[0].id, *core])
    assert stored[0] == {**stored[1], "summary": "ours"}


def test_a_chunk_is_one_statement_on_postgresql():
    """One INSERT … RETURNING for the chunk, not a parameter set and a read back per row."""
    if db.session.get_bind().dialect.name != "postgresql":
        pytest.skip("PostgreSQL's array path; SQLite keeps the executemany")
    table = Enterprise.__table__
    with count_queries() as statements:
        stored = insert_rows(table, [_firm(n) for n in range(5, 25)], read_back=table.c.uscc)
    assert len(stored) == 20
    assert len(statements) == 1


def test_a_refused_row_refuses_the_statement():
    """A code stored twice: the database refuses, and the import's chunk goes row by row."""
    table = Enterprise.__table__
    with pytest.raises(IntegrityError), db.session.begin_nested():
        insert_rows(table, [_firm(30), _firm(30)], read_back=table.c.uscc)
    assert insert_rows(table, [_firm(30)], read_back=table.c.uscc)[0].uscc == valid_uscc(95330)


def test_rows_of_two_shapes_sharing_a_key_come_back_once_each():
    """One firm's records in two statements (one leaves a column to its default, one has a
    JSON null): each stored row is returned once, in id order, whichever path stored it."""
    table = AuditEvent.__table__
    base = {"entity_type": "carrier", "entity_id": 990001, "action": "update"}
    rows = [{**base, "changes": {"a": 1}, "summary": "one"}, {**base, "changes": None},
            {**base, "changes": {"b": 2}, "summary": "three"}]
    with frozen(NOW):
        stored = insert_rows(table, rows, read_back=table.c.entity_id)
    assert len(stored) == 3
    assert len({r.id for r in stored}) == 3
    assert [r.id for r in stored] == sorted(r.id for r in stored)
