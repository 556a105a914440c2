"""An import's statements are planned for its tables as they are, chunk after chunk (PostgreSQL).

psycopg prepares a statement run five times on one connection, and PostgreSQL may then keep one
generic plan for it, made for the table sizes of that moment. An import is one transaction that
grows its tables from wherever they were: a plan made for the first chunks (a few hundred firms,
a sequential scan is the cheapest) was still used at the last (50,000 firms: the chunk's codes
compared with every row, 0.5–0.7 s a chunk, half of a 50,000-row import's time). Statistics do
not help inside the transaction (nothing analyzes rows not yet committed). Each chunk's
statements must be planned for that chunk.
"""

from __future__ import annotations

import pytest
from sqlalchemy import text

from tests.factories import valid_uscc
from tests.imports.conftest import ENTERPRISE_HEADERS
from tests.imports.helpers import run_file
from tests.scratch_databases import scratch_app
from tracker.extensions import db
from tracker.imports import engine

pytestmark = pytest.mark.live


def test_no_statement_of_an_import_runs_on_a_generic_plan(write_xlsx, monkeypatch, tmp_path):
    monkeypatch.setattr(engine, "CHUNK", 4)  # 12 chunks: each statement is prepared
    rows = [[f"天津计划测试公司{n}", valid_uscc(95000 + n), "2019-03-05", "高新区", "电子信息",
             f"联系人{n}", f"c{n}@example.com", "120", "1,234.5"] for n in range(48)]
    path = write_xlsx([ENTERPRISE_HEADERS, *rows])
    with scratch_app("import_plans") as app, app.app_context():
        monkeypatch.setitem(app.config, "UPLOAD_DIR", str(tmp_path / "uploads"))
        job = run_file(path, "enterprises", keep_valid=True, accept_warnings=True)
        assert job.created == 48
        plans = db.session.execute(text(
            "SELECT statement, generic_plans FROM pg_prepared_statements")).all()
        db.session.rollback()
    assert plans, "the chunks' lookups were never prepared: nothing was checked"
    assert [(s[:120], generic) for s, generic in plans if generic] == []
