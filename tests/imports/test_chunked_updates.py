"""Re-importing firms on file: what an updating import writes, chunk by chunk.

The first two tests pin behaviour (audit history, undo notes, versions, the after-save
pipeline, per-row errors) and held on the row-by-row writer before the update path became
set-based; the last one pins the set-based write itself.
"""

from __future__ import annotations

import pytest
from sqlalchemy import event, select

from tests.factories import make_enterprise, make_user, valid_uscc
from tests.imports.helpers import run_file
from tracker import changes
from tracker.audit.models import AuditEvent
from tracker.enterprises.models import AnnualMetrics, Contact, Enterprise
from tracker.extensions import db
from tracker.imports import engine, services
from tracker.imports.models import ImportChange
from tracker.vocabulary import SOURCES

HEADERS = ["企业名称", "统一社会信用代码", "成立日期", "所属区域", "技术领域", "联系人",
           "联系电话", "联系邮箱", "从业人数", "营业收入（万元）"]


@pytest.fixture(autouse=True)
def small_chunks(monkeypatch):
    """Chunks of three rows: Excel rows 2–4, 5–7 …"""
    monkeypatch.setattr(engine, "CHUNK", 3)


@pytest.fixture
def bureau():
    return make_user("bureau")


def row(n: int, **overrides) -> list:
    values = {"企业名称": f"天津更新导入公司{n}", "统一社会信用代码": valid_uscc(94000 + n),
              "成立日期": "2019-03-05", "所属区域": "高新区", "技术领域": "电子信息",
              "联系人": f"联系人{n}", "联系电话": None, "联系邮箱": f"c{n}@example.com",
              "从业人数": "120", "营业收入（万元）": "1,234.5"}
    values.update(overrides)
    return [values[h] for h in HEADERS]


def _firm(n: int) -> Enterprise:
    return db.session.scalar(select(Enterprise).where(Enterprise.uscc == valid_uscc(94000 + n)))


def _metrics(firm_id: int) -> AnnualMetrics:
    return db.session.scalar(select(AnnualMetrics).where(AnnualMetrics.enterprise_id == firm_id))


def _contacts(firm_id: int) -> list[Contact]:
    return list(db.session.scalars(select(Contact).where(Contact.enterprise_id == firm_id)
                                   .order_by(Contact.id)))


def test_an_updating_import_writes_the_same_audit_history_notes_and_versions(
        write_xlsx, bureau):
    first = run_file(write_xlsx([HEADERS, *[row(i) for i in range(1, 5)]], "first.xlsx"),
                     "enterprises", user=bureau)
    assert (first.created, first.errors) == (4, [])
    db.session.commit()  # the after-save pipeline ran: the next job starts with nothing touched
    ids = {i: _firm(i).id for i in range(1, 5)}
    metric_ids = {i: _metrics(ids[i]).id for i in range(1, 5)}
    contact_ids = {i: _contacts(ids[i])[0].id for i in range(1, 5)}
    last_event = db.session.scalar(select(AuditEvent.id).order_by(AuditEvent.id.desc()).limit(1))

    corrected = [
        row(1, 技术领域="新材料", 从业人数="130"),          # the firm and its figures change
        row(2),                                             # nothing changes
        row(3, 联系电话="022-12345678", **{"营业收入（万元）": "1,300"}),  # contact, figures
        row(4, 联系人="新联系人", 联系邮箱="new4@example.com"),   # a second contact
        row(5),                                             # a new firm in the same chunk
    ]
    job = run_file(write_xlsx([HEADERS, *corrected], "second.xlsx"), "enterprises", user=bureau)
    assert (job.rows, job.created, job.updated, job.unchanged, job.errors) == (5, 1, 3, 1, [])

    events = db.session.scalars(select(AuditEvent).where(
        AuditEvent.id > last_event, AuditEvent.enterprise_id.in_(ids.values()))).all()
    stamp = f"导入任务 #{job.id}"
    metrics_summary = f"2025 年度数据（{SOURCES['import']}）"
    assert sorted((e.entity_type, e.entity_id, e.action, e.changes, e.actor_id, e.summary)
                  for e in events) == sorted([
        ("enterprise", ids[1], "update",
         {"tech_field": ["electronic_information", "new_materials"]}, bureau.id, stamp),
        ("metrics", metric_ids[1], "update", {"employees": [120, 130]}, bureau.id,
         metrics_summary),
        ("contact", contact_ids[3], "update", {"phone": [None, "022-12345678"]}, bureau.id,
         "联系人3"),
        ("metrics", metric_ids[3], "update", {"revenue": ["12345000", "13000000"]}, bureau.id,
         metrics_summary),
        ("contact", _contacts(ids[4])[1].id, "create",
         {"name": [None, "新联系人"], "email": [None, "new4@example.com"],
          "receives_reminders": [None, True], "locale": [None, "zh_CN"]}, bureau.id, "新联系人"),
    ])

    notes = db.session.scalars(select(ImportChange).where(ImportChange.job_id == job.id,
                                                          ImportChange.enterprise_id.in_(
                                                              ids.values()))).all()
    assert sorted((n.row, n.entity_type, n.entity_id, n.action, n.before, n.after)
                  for n in notes) == sorted([
        (2, "enterprise", ids[1], "update", {"tech_field": "electronic_information"},
         {"tech_field": "new_materials"}),
        (2, "metrics", metric_ids[1], "update", {"employees": 120}, {"employees": 130}),
        (4, "contact", contact_ids[3], "update", {"phone": None}, {"phone": "022-12345678"}),
        (4, "metrics", metric_ids[3], "update", {"revenue": "12345000"},
         {"revenue": "13000000"}),
        (5, "contact", _contacts(ids[4])[1].id, "create", {},
         {"name": "新联系人", "title": None, "phone": None, "email": "new4@example.com",
          "receives_reminders": True, "locale": "zh_CN"}),
    ])
    assert sorted((p["row"], p["entity"], p["field"], p["old"], p["new"])
                  for p in job.preview if p["field"] != "title") == sorted([
        (2, "enterprise", "tech_field", "electronic_information", "new_materials"),
        (2, "metrics", "employees", 120, 130),
        (4, "contact", "phone", None, "022-12345678"),
        (4, "metrics", "revenue", "12345000", "13000000"),
        (5, "contact", "name", None, "新联系人"),
        (5, "contact", "email", None, "new4@example.com"),
        (5, "contact", "receives_reminders", None, True),
        (5, "contact", "locale", None, "zh_CN"),
    ])

    # optimistic versions: bumped once for each record that changed, and only for those
    assert [_firm(i).version for i in range(1, 5)] == [2, 1, 1, 1]
    assert [db.session.get(AnnualMetrics, metric_ids[i]).version for i in range(1, 5)] == \
        [2, 1, 2, 1]
    assert [db.session.get(Contact, contact_ids[i]).version for i in range(1, 5)] == \
        [1, 1, 2, 1]
    # the after-save pipeline runs for the firms that changed, not for the one left alone
    assert changes.touched() == {ids[1], ids[3], ids[4], _firm(5).id}

    services.undo_job(job, user_id=bureau.id)
    assert _firm(1).tech_field == "electronic_information"
    assert _metrics(ids[1]).employees == 120
    assert _contacts(ids[3])[0].phone is None
    assert [c.name for c in _contacts(ids[4])] == ["联系人4"]
    assert _firm(5) is None


def test_a_chunk_with_one_refused_update_imports_the_good_rows(write_xlsx):
    clerk = make_user("zone", zone="hitech")
    for i in range(1, 4):
        make_enterprise(uscc=valid_uscc(94000 + i), name=f"原名称{i}", zone="hitech")
    rows = [row(1), row(2, 所属区域="经开区"), row(3)]  # row 3 moves a firm out of the zone
    job = run_file(write_xlsx([HEADERS, *rows]), "enterprises", user=clerk, keep_valid=True)
    assert (job.rows, job.valid, job.updated) == (3, 2, 2)
    assert [(e["row"], e["column"], e["msgid"]) for e in job.errors] == [
        (3, "所属区域", "只能登记或修改本区域（%(own)s）的企业")]
    assert [_firm(i).name for i in (1, 2, 3)] == [
        "天津更新导入公司1", "原名称2", "天津更新导入公司3"]
    assert _firm(2).zone == "hitech" and _firm(2).version == 1
    assert _contacts(_firm(2).id) == [] and _metrics(_firm(2).id) is None
    noted = db.session.scalars(select(ImportChange.row).where(
        ImportChange.job_id == job.id)).all()
    assert sorted(set(noted)) == [2, 4]
    refused = db.session.scalars(select(AuditEvent).where(
        AuditEvent.enterprise_id == _firm(2).id, AuditEvent.action == "update")).all()
    assert refused == []


@pytest.fixture
def statements():
    """The SQL statements sent (an executemany counts once)."""
    sent: list[str] = []

    def grab(_conn, _cursor, statement, _parameters, _context, _many):
        sent.append(" ".join(statement.split()[:3]).upper())

    event.listen(db.engine, "before_cursor_execute", grab)
    yield sent
    event.remove(db.engine, "before_cursor_execute", grab)


def test_updates_of_firms_on_file_are_written_per_chunk_not_per_row(write_xlsx, bureau,
                                                                     statements):
    run_file(write_xlsx([HEADERS, *[row(i) for i in range(1, 7)]], "first.xlsx"),
             "enterprises", user=bureau)
    db.session.commit()
    statements.clear()
    job = run_file(write_xlsx([HEADERS, *[row(i, 技术领域="新材料", 从业人数="130")
                                          for i in range(1, 7)]], "second.xlsx"),
                   "enterprises", user=bureau)
    assert (job.updated, job.errors) == (6, [])
    # the test's own transaction's SAVEPOINT, one for the whole import and one per chunk of
    # three; none per row (row by row, this was 2 + 6)
    assert sum(s.startswith("SAVEPOINT") for s in statements) == 2 + 2
    # the audit events and the undo notes: one INSERT per chunk, not one per record
    assert sum(s.startswith("INSERT INTO AUDIT_EVENTS") for s in statements) == 2
    assert sum(s.startswith("INSERT INTO IMPORT_CHANGES") for s in statements) == 2


def test_a_renamed_firm_gets_its_derived_keys_and_an_untouched_name_keeps_them(write_xlsx,
                                                                               bureau):
    from tracker.enterprises.models import derived_columns

    run_file(write_xlsx([HEADERS, row(1), row(2)], "first.xlsx"), "enterprises", user=bureau)
    db.session.commit()
    job = run_file(write_xlsx([HEADERS, row(1, 企业名称="天津改名以后有限公司"),
                               row(2, 从业人数="140")], "second.xlsx"), "enterprises",
                   user=bureau)
    assert (job.updated, job.errors) == (2, [])
    db.session.expire_all()  # read what the database holds
    for n, name in ((1, "天津改名以后有限公司"), (2, "天津更新导入公司2")):
        firm = _firm(n)
        assert firm.name == name
        derived = derived_columns(name, firm.uscc)
        assert {k: getattr(firm, k) for k in derived} == derived
    assert (_firm(1).version, _firm(2).version) == (2, 1)


def test_a_zone_corrected_by_an_import_is_a_zone_move(write_xlsx, bureau):
    """issue 14: month-ends keep the zone of the time; the import's bulk UPDATE records the
    move as a form's save does (tracker.dashboard.models.ZoneMove)."""
    from tracker.dashboard.models import ZoneMove

    first = run_file(write_xlsx([HEADERS, row(1), row(2)], "first.xlsx"), "enterprises",
                     user=bureau)
    assert first.created == 2
    db.session.commit()
    job = run_file(write_xlsx([HEADERS, row(1, 所属区域="保税区"), row(2)], "second.xlsx"),
                   "enterprises", user=bureau)
    assert (job.updated, job.errors) == (1, [])
    db.session.commit()
    moves = db.session.execute(select(ZoneMove.enterprise_id, ZoneMove.from_zone,
                                      ZoneMove.to_zone)).all()
    assert moves == [(_firm(1).id, "hitech", "bonded")]
