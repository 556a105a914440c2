"""Chunked writes: new firms go in one multi-row INSERT per chunk, row errors stay per row."""

from __future__ import annotations

from datetime import date

import pytest
from sqlalchemy import event, func, select

from tests.factories import make_enterprise, make_user, valid_uscc
from tests.imports.conftest import ENTERPRISE_HEADERS
from tests.imports.helpers import run_file
from tracker import changes
from tracker.audit.models import AuditEvent
from tracker.clock import frozen
from tracker.enterprises.models import AnnualMetrics, Contact, Enterprise
from tracker.extensions import db
from tracker.imports import engine, services
from tracker.imports.models import ImportChange
from tracker.ladder.models import EligibilityResult

#: small chunks, so that a handful of rows crosses several chunk edges
SIZE = 3


@pytest.fixture(autouse=True)
def small_chunks(monkeypatch):
    """Chunks of three rows: Excel rows 2–4, 5–7, 8–10 …"""
    monkeypatch.setattr(engine, "CHUNK", SIZE)


@pytest.fixture
def bureau():
    """A bureau officer, who may import firms of every zone."""
    return make_user("bureau")


def row(n: int, **overrides) -> list:
    values = {"企业名称": f"天津分块导入公司{n}", "统一社会信用代码": valid_uscc(93000 + n),
              "成立日期": "2019-03-05", "所属区域": "高新区", "技术领域": "电子信息",
              "联系人": f"联系人{n}", "联系邮箱": f"c{n}@example.com", "从业人数": "120",
              "营业收入（万元）": "1,234.5"}
    values.update(overrides)
    return [values[h] for h in ENTERPRISE_HEADERS]


def _count(model, *where) -> int:
    return db.session.scalar(select(func.count()).select_from(model).where(*where))


def _codes() -> set[str]:
    return set(db.session.scalars(select(Enterprise.uscc).where(
        Enterprise.name.like("天津分块导入公司%"))))


@pytest.fixture
def inserts():
    """The INSERT statements sent per table (a multi-row INSERT counts once)."""
    sent: dict[str, int] = {}

    def grab(_conn, _cursor, statement, _parameters, _context, _many):
        words = statement.split()
        if words[0].upper() == "INSERT":
            table = words[2].strip('"')
            sent[table] = sent.get(table, 0) + 1

    engine_ = db.engine
    event.listen(engine_, "before_cursor_execute", grab)
    yield sent
    event.remove(engine_, "before_cursor_execute", grab)


def test_new_firms_are_written_per_chunk_not_per_row(write_xlsx, bureau, inserts):
    path = write_xlsx([ENTERPRISE_HEADERS, *[row(i) for i in range(1, 7)]])
    job = run_file(path, "enterprises", user=bureau)
    assert (job.rows, job.created, job.errors) == (6, 6, [])
    assert len(_codes()) == 6
    # two chunks of three rows: two multi-row INSERTs per table, not six
    assert inserts.get("enterprises") == 2
    assert inserts.get("contacts") == 2
    assert inserts.get("annual_metrics") == 2


def test_an_error_row_at_a_chunk_edge_is_reported_and_loses_no_other_row(write_xlsx, bureau):
    # Excel row 4 ends the first chunk, row 5 starts the second
    rows = [row(i) for i in range(1, 8)]
    rows[2] = row(3, 所属区域="火星区")
    rows[3] = row(4, 企业名称=None)
    job = run_file(write_xlsx([ENTERPRISE_HEADERS, *rows]), "enterprises", user=bureau,
                   keep_valid=True)
    assert [e["row"] for e in job.errors] == [4, 5]
    assert job.errors[0]["column"] == "所属区域"
    assert job.created == 5
    assert _codes() == {valid_uscc(93000 + i) for i in (1, 2, 5, 6, 7)}


def test_all_or_nothing_with_an_error_in_a_later_chunk_writes_nothing(write_xlsx, bureau):
    rows = [row(i) for i in range(1, 8)]
    rows[6] = row(7, 成立日期="2999-01-01")
    job = run_file(write_xlsx([ENTERPRISE_HEADERS, *rows]), "enterprises", user=bureau)
    assert [e["row"] for e in job.errors] == [8]
    assert _codes() == set()
    assert _count(ImportChange, ImportChange.job_id == job.id) == 0


def test_duplicate_uscc_within_one_chunk(write_xlsx, bureau):
    rows = [row(1), row(2, 企业名称="同码的另一家"), row(3)]
    rows[1][1] = valid_uscc(93001)
    job = run_file(write_xlsx([ENTERPRISE_HEADERS, *rows]), "enterprises", user=bureau,
                   keep_valid=True)
    assert [(e["row"], e["message"]) for e in job.errors] == [
        (3, "与第 2 行重复：同一企业在文件中出现两次")]
    assert _codes() == {valid_uscc(93001), valid_uscc(93003)}
    assert db.session.scalar(select(Enterprise.name).where(
        Enterprise.uscc == valid_uscc(93001))) == "天津分块导入公司1"


def test_duplicate_uscc_across_a_chunk_edge(write_xlsx, bureau):
    rows = [row(i) for i in range(1, 5)]
    rows[3][1] = valid_uscc(93003)  # Excel row 5 repeats row 4, the previous chunk's last
    job = run_file(write_xlsx([ENTERPRISE_HEADERS, *rows]), "enterprises", user=bureau,
                   keep_valid=True)
    assert [e["row"] for e in job.errors] == [5]
    assert job.created == 3


def test_new_and_existing_firms_mixed_in_a_chunk(write_xlsx, bureau):
    old = make_enterprise(uscc=valid_uscc(93002), name="原名称")
    job = run_file(write_xlsx([ENTERPRISE_HEADERS, row(1), row(2), row(3)]), "enterprises",
                   user=bureau)
    assert (job.created, job.updated, job.errors) == (2, 1, [])
    assert db.session.get(Enterprise, old.id).name == "天津分块导入公司2"


def test_a_chunk_the_database_refuses_is_retried_row_by_row(write_xlsx, bureau, monkeypatch):
    """Another writer registered a code after the chunk looked its codes up (a race)."""
    make_enterprise(uscc=valid_uscc(93002), name="同时登记的企业")
    looked_up = engine.EnterpriseHandler.preload
    calls = []

    def preload_before_the_race(self, rows):
        looked_up(self, rows)
        calls.append(len(rows))
        if len(calls) == 1:  # the chunk's look-up ran before the other writer committed
            self.enterprises.pop(valid_uscc(93002), None)

    monkeypatch.setattr(engine.EnterpriseHandler, "preload", preload_before_the_race)
    job = run_file(write_xlsx([ENTERPRISE_HEADERS, row(1), row(2), row(3)]), "enterprises",
                   user=bureau, keep_valid=True)
    # the unique index refused the chunk; row by row, row 3 updates the firm now on file
    assert len(calls) == 2
    assert (job.created, job.updated, job.errors) == (2, 1, [])
    assert _codes() == {valid_uscc(93001), valid_uscc(93002), valid_uscc(93003)}
    assert _count(Enterprise, Enterprise.uscc == valid_uscc(93002)) == 1
    notes = db.session.scalars(select(ImportChange.row).where(
        ImportChange.job_id == job.id, ImportChange.entity_type == "enterprise")).all()
    assert sorted(notes) == [2, 3, 4]


def test_chunked_firms_have_audit_undo_records_and_follow_up(write_xlsx, bureau):
    with frozen(date(2026, 6, 1)):
        job = run_file(write_xlsx([ENTERPRISE_HEADERS, *[row(i) for i in range(1, 6)]]),
                       "enterprises", user=bureau)
    ids = set(db.session.scalars(select(Enterprise.id).where(
        Enterprise.uscc.in_(_codes()))))
    assert len(ids) == 5
    assert ids <= changes.touched()  # the after-save pipeline runs for them at the commit
    for kind in ("enterprise", "contact", "metrics"):
        events = db.session.scalars(select(AuditEvent).where(
            AuditEvent.entity_type == kind, AuditEvent.enterprise_id.in_(ids))).all()
        assert len(events) == 5
        assert {e.actor_id for e in events} == {bureau.id}
        assert all(e.action == "create" and e.changes for e in events)
    enterprise_events = db.session.scalars(select(AuditEvent).where(
        AuditEvent.entity_type == "enterprise", AuditEvent.enterprise_id.in_(ids))).all()
    assert {e.summary for e in enterprise_events} == {f"导入任务 #{job.id}"}
    notes = db.session.scalars(select(ImportChange).where(ImportChange.job_id == job.id)).all()
    assert sorted((n.row, n.entity_type) for n in notes) == sorted(
        (r, kind) for r in range(2, 7) for kind in ("enterprise", "contact", "metrics"))
    metric_note = next(n for n in notes if n.entity_type == "metrics")
    assert metric_note.after["employees"] == 120 and metric_note.after["fiscal_year"] == 2025
    with frozen(date(2026, 6, 1)):
        db.session.commit()
    assert _count(EligibilityResult, EligibilityResult.enterprise_id.in_(ids)) > 0


def test_undo_of_a_chunked_import_removes_every_record(write_xlsx, bureau):
    old = make_enterprise(uscc=valid_uscc(93004), name="原名称")
    job = run_file(write_xlsx([ENTERPRISE_HEADERS, *[row(i) for i in range(1, 8)]]),
                   "enterprises", user=bureau)
    assert (job.created, job.updated) == (6, 1)
    new_ids = [i for i in db.session.scalars(select(Enterprise.id).where(
        Enterprise.uscc.in_(_codes()))) if i != old.id]
    services.undo_job(job, user_id=bureau.id)
    assert _codes() == set()
    assert db.session.get(Enterprise, old.id).name == "原名称"
    assert _count(Contact, Contact.enterprise_id.in_(new_ids)) == 0
    assert _count(AnnualMetrics, AnnualMetrics.enterprise_id.in_(new_ids)) == 0
    assert job.status == "undone"
