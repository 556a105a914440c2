"""The chunk-at-a-time path stores exactly what the row-by-row path stores.

One file (new firms with and without a contact or figures, a firm on file, bad rows in the
middle of chunks, a code twice) imported twice in one test: through the bulk path, and through
the row-by-row path (every row's `stage` refused, so each row goes through the services in a
SAVEPOINT of its own). The firms, contacts, figures, audit history, undo notes and the job's
counts, errors, warnings and preview are compared field by field (ids and the job's number
aside). In the bulk run one chunk is refused by the database (a code registered by another
writer after the chunk looked its codes up); its rows, retried one by one, must end as the
row-by-row run (which saw that firm from the start) left them.
"""

from __future__ import annotations

import re
from datetime import date
from typing import Any

import pytest
from sqlalchemy import select

from tests.factories import make_enterprise, make_user, valid_uscc
from tests.imports.helpers import run_file
from tracker import changes
from tracker.audit.models import AuditEvent
from tracker.clock import frozen
from tracker.enterprises import services as enterprise_services
from tracker.enterprises.models import AnnualMetrics, Contact, Enterprise
from tracker.extensions import db
from tracker.imports import engine
from tracker.imports.handlers.enterprises import EnterpriseHandler
from tracker.imports.models import ImportChange

HEADERS = ["企业名称", "统一社会信用代码", "成立日期", "所属区域", "技术领域", "联系人", "联系邮箱",
           "从业人数", "科技人员数", "营业收入（万元）"]
#: the firm on file the list corrects, and the one "another writer" registers mid-import
ON_FILE, RACED = valid_uscc(94100), valid_uscc(94109)


@pytest.fixture(autouse=True)
def chunks_of_four(monkeypatch):
    """Excel rows 2–5, 6–9, 10–13, 14–15."""
    monkeypatch.setattr(engine, "CHUNK", 4)


def _row(n: int, **overrides: Any) -> list[Any]:
    values = {"企业名称": f"天津对照导入公司{n}", "统一社会信用代码": valid_uscc(94100 + n),
              "成立日期": "2019-03-05", "所属区域": "高新区", "技术领域": "电子信息",
              "联系人": f"联系人{n}", "联系邮箱": f"C{n}@Example.com ", "从业人数": "120",
              "科技人员数": "30", "营业收入（万元）": "1,234.5"}
    values.update(overrides)
    return [values[h] for h in HEADERS]


def _file_rows() -> list[list[Any]]:
    return [
        # chunk 1: Excel rows 2–5
        _row(1),
        _row(2, 联系人=None, 联系邮箱=None),  # no contact
        _row(3, 所属区域="火星区"),  # bad zone
        _row(4, **{"从业人数": None, "科技人员数": None, "营业收入（万元）": None}),  # no figures
        # chunk 2: rows 6–9
        _row(0, 企业名称="原企业更名"),  # the firm on file, corrected
        _row(5, 统一社会信用代码=valid_uscc(94101)),  # row 2's code again
        _row(6, 企业名称="ＡＢＣ（天津）重庆银行科技"),  # full-width letters, heteronyms
        _row(7, 科技人员数="500"),  # more technical staff than staff
        # chunk 3: rows 10–13; the bulk run's database refuses it (RACED)
        _row(8),
        _row(9, 企业名称="同时登记的企业新名"),
        _row(10, 联系邮箱=None),
        _row(11, 成立日期="2999-01-01"),  # founded in the future
        # chunk 4: rows 14–15
        _row(12, 企业名称=None),  # a new firm without a name
        _row(13),
    ]


def _import(path, user, *, bulk: bool, stages: bool = False) -> tuple[Any, dict[str, int]]:
    """Import the file; bulk=False sends every row through apply, one SAVEPOINT each.

    stages: then run what its commit runs (tracker.changes' stages, in this transaction),
    counting the firms whose rows those stages mark stale ("rewritten").
    """
    seen = {"registered": 0, "refused": 0, "looked_up": 0, "rewritten": 0}
    register_many = enterprise_services.register_many
    preload = EnterpriseHandler.preload
    write_chunk = engine._write_chunk

    def counting_register(firms, **kwargs):
        seen["registered"] += len(firms)
        return register_many(firms, **kwargs)

    def racing_preload(self, rows):
        preload(self, rows)
        seen["looked_up"] += 1
        if bulk and seen["looked_up"] == 3:  # chunk 3 looked its codes up before the race
            self.enterprises.pop(RACED, None)

    def counting_write(session, handler, rows):
        before = seen["looked_up"]
        write_chunk(session, handler, rows)
        seen["refused"] += seen["looked_up"] - before  # a refused chunk looks up again

    with pytest.MonkeyPatch.context() as patch, frozen(date(2026, 6, 1)):
        patch.setattr(enterprise_services, "register_many", counting_register)
        patch.setattr(EnterpriseHandler, "preload", racing_preload)
        patch.setattr(engine, "_write_chunk", counting_write)
        if not bulk:
            patch.setattr(EnterpriseHandler, "stage", lambda self, row: False)
        job = run_file(path, "enterprises", user=user, keep_valid=True, accept_warnings=True)
        if stages:
            unmarked = select(Enterprise.id).where(Enterprise.eligibility_stale_since.is_(None))
            before = set(db.session.scalars(unmarked))
            changes.run_stages(sorted(changes.touched()))
            db.session.flush()
            seen["rewritten"] = len(before - set(db.session.scalars(unmarked)))
    return job, seen


def _contents(job) -> dict[str, Any]:
    """Everything the import stored, keyed by natural keys instead of ids."""
    codes = {e.id: e.uscc for e in db.session.scalars(select(Enterprise))}
    contacts = {c.id: (codes[c.enterprise_id], c.name) for c in db.session.scalars(select(Contact))}
    years = {m.id: (codes[m.enterprise_id], m.fiscal_year)
             for m in db.session.scalars(select(AnnualMetrics))}
    keys = {"enterprise": codes, "contact": contacts, "metrics": years}

    def columns(record: Any, *skip: str) -> dict[str, Any]:
        values = {c.key: getattr(record, c.key) for c in record.__table__.columns
                  if c.key not in ("id", *skip)}
        if "enterprise_id" in values:
            values["enterprise_id"] = codes.get(values["enterprise_id"])
        return values

    def summary(text: str | None) -> str | None:
        return re.sub(r"#\d+", "#job", text) if text else text

    def event(e: AuditEvent) -> dict[str, Any]:
        values = columns(e, "entity_id")
        values["entity"] = keys[e.entity_type][e.entity_id]
        values["summary"] = summary(e.summary)
        return values

    def note(n: ImportChange) -> dict[str, Any]:
        values = columns(n, "entity_id", "job_id")
        values["entity"] = keys[n.entity_type][n.entity_id]
        return values

    history: dict[str, list] = {}
    for e in db.session.scalars(select(AuditEvent).where(
            AuditEvent.entity_type.in_(keys)).order_by(AuditEvent.id)):
        history.setdefault(codes.get(e.enterprise_id), []).append(event(e))
    return {
        "firms": sorted((columns(e) for e in db.session.scalars(select(Enterprise))),
                        key=lambda v: v["uscc"]),
        "contacts": sorted((columns(c) for c in db.session.scalars(select(Contact))),
                           key=lambda v: (v["enterprise_id"], v["name"])),
        "figures": sorted((columns(m) for m in db.session.scalars(select(AnnualMetrics))),
                          key=lambda v: (v["enterprise_id"], v["fiscal_year"])),
        # each firm's history in the order it was written (what its history page shows)
        "history": history,
        "notes": sorted((note(n) for n in db.session.scalars(select(ImportChange).where(
            ImportChange.job_id == job.id))), key=lambda v: (v["row"], repr(v["entity"]))),
        "job": {**job.counts(), "warnings": job.warnings, "preview": job.preview},
    }


def test_the_bulk_path_stores_what_the_row_by_row_path_stores(write_xlsx):
    bureau = make_user("bureau")
    make_enterprise(uscc=ON_FILE, name="原企业")
    make_enterprise(uscc=RACED, name="同时登记的企业")
    db.session.commit()  # (the test's own transaction still ends rolled back)
    path = write_xlsx([HEADERS, *_file_rows()])

    job, bulk = _import(path, bureau, bulk=True)
    stored = _contents(job)
    db.session.rollback()  # back to the two firms on file
    job, rows = _import(path, bureau, bulk=False)
    expected = _contents(job)

    # the bulk run did go through the bulk path, and its third chunk was refused
    assert bulk["registered"] >= 6 and bulk["refused"] == 1
    assert rows["registered"] == 0 and rows["refused"] == 0
    # the bad rows are reported one by one, the good rows around them kept
    assert [e["row"] for e in expected["job"]["errors"]] == [4, 7, 9, 13, 14]
    assert (expected["job"]["created"], expected["job"]["updated"]) == (7, 2)
    assert len(expected["firms"]) == 9
    for part in ("job", "firms", "contacts", "figures", "notes", "history"):
        assert stored[part] == expected[part], part


def test_a_commit_handed_to_workers_stores_the_same_and_rewrites_no_new_firm(
        write_xlsx, app, monkeypatch):
    """Above the inline limit the commit marks every touched firm stale for the workers: the
    firms the chunks registered go in marked already, so the commit rewrites none of them;
    the stored rows (marks included) are what the row-by-row path and its commit leave."""
    monkeypatch.setitem(app.config, changes.LIMIT_KEY, 2)
    bureau = make_user("bureau")
    make_enterprise(uscc=ON_FILE, name="原企业")
    make_enterprise(uscc=RACED, name="同时登记的企业")
    db.session.commit()
    path = write_xlsx([HEADERS, *_file_rows()])

    job, bulk = _import(path, bureau, bulk=True, stages=True)
    stored = _contents(job)
    db.session.rollback()
    job, rows = _import(path, bureau, bulk=False, stages=True)
    expected = _contents(job)

    assert all(firm["eligibility_stale_since"] is not None for firm in expected["firms"])
    for part in ("job", "firms", "contacts", "figures", "notes", "history"):
        assert stored[part] == expected[part], part
    # the row-by-row commit rewrites all nine firms; the bulk one only those no chunk
    # registered: the two on file, and the refused chunk's two new firms (rows 10 and 12,
    # written one by one)
    assert rows["rewritten"] == 9
    assert bulk["rewritten"] == 4
