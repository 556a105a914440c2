"""Undoing an import: rows it cannot undo are explained, large undos run on the worker."""

from __future__ import annotations

from datetime import date

import pytest
from sqlalchemy import select

from tests.conftest import csrf_from, login
from tests.factories import make_user, valid_uscc
from tests.imports.conftest import ENTERPRISE_HEADERS
from tests.imports.helpers import run_file
from tracker.enterprises.models import Enterprise
from tracker.extensions import db
from tracker.imports import services
from tracker.imports.models import ImportJob
from tracker.reminders.defaults import seed_rules
from tracker.reminders.models import Reminder, ReminderRule
from tracker.reminders.services import record_filing


def _rows(n: int) -> list[list]:
    rows = [ENTERPRISE_HEADERS]
    for i in range(1, n + 1):
        rows.append([f"天津撤销测试公司{i}", valid_uscc(96000 + i), "2020-01-02", "高新区",
                     "新材料", None, None, i, "1.5"])
    return rows


def _firm(n: int) -> Enterprise:
    return db.session.scalar(select(Enterprise).where(Enterprise.uscc == valid_uscc(96000 + n)))


def _reminder_for(firm: Enterprise) -> Reminder:
    """A reminder the sweep made about the imported firm (it references the firm's row)."""
    seed_rules()
    rule = db.session.scalars(select(ReminderRule)).first()
    reminder = Reminder(rule_id=rule.id, subject_type="enterprise", subject_id=firm.id,
                        occurrence_on=date(2026, 5, 31), occurrence_tag="d30",
                        recipient_type="user", recipient_id=1, to_address="a@example.com",
                        enterprise_id=firm.id)
    db.session.add(reminder)
    db.session.flush()
    return reminder


def test_undo_of_firms_with_reminders_lists_the_rows_it_cannot_undo(write_xlsx):
    bureau = make_user("bureau")
    job = run_file(write_xlsx(_rows(3)), "enterprises", user=bureau)
    _reminder_for(_firm(2))
    record_filing(_firm(3).id, next(iter(_filing_kinds())), 2025, bureau)
    with pytest.raises(services.UndoRefused) as refused:
        services.undo_job(job, user_id=bureau.id)
    rows = {r["row"]: r["reason"] for r in refused.value.rows}
    assert set(rows) == {3, 4}
    assert "提醒" in rows[3]
    assert "报表" in rows[4] or "报送" in rows[4]
    assert _firm(1) is not None  # all or nothing: nothing was undone


def test_undo_page_explains_instead_of_answering_500(client, write_xlsx):
    bureau = make_user("bureau")
    login(client, bureau)
    job = run_file(write_xlsx(_rows(2)), "enterprises", user=bureau)
    _reminder_for(_firm(1))
    db.session.commit()  # what the page sees; the view's rollback must not reach back past it
    confirm = client.get(f"/imports/{job.id}/undo").get_data(as_text=True)
    response = client.post(f"/imports/{job.id}/undo", data={"csrf_token": csrf_from(confirm)},
                           follow_redirects=True)
    assert response.status_code == 200
    html = response.get_data(as_text=True)
    refused = html[html.index('id="undo-refused"'):]
    assert '<td class="num">2</td>' in refused and "提醒记录" in refused
    assert db.session.get(ImportJob, job.id).status == "done"


def _filing_kinds():
    from tracker.reminders.services import FILING_KINDS

    return FILING_KINDS


def test_large_undo_is_queued_and_run_by_the_worker_task(app, client, write_xlsx, monkeypatch):
    from tracker.imports.tasks import run_import_job

    monkeypatch.setitem(app.config, "IMPORT_SYNC_UNDO", 1)
    bureau = make_user("bureau")
    login(client, bureau)
    job = run_file(write_xlsx(_rows(3)), "enterprises", user=bureau)
    db.session.commit()
    confirm = client.get(f"/imports/{job.id}/undo").get_data(as_text=True)
    client.post(f"/imports/{job.id}/undo", data={"csrf_token": csrf_from(confirm)})
    job = db.session.get(ImportJob, job.id)
    assert job.status == "queued" and _firm(1) is not None
    progress = client.get(f"/imports/{job.id}/progress.json").get_json()
    assert progress["undo"] is True and progress["finished"] is False
    assert progress["total"] == job.options["undo_total"] >= 3
    assert "正在撤销" in client.get(f"/imports/{job.id}").get_data(as_text=True)
    assert run_import_job(job.id) == "undone"  # a re-queued undo runs the undo, not an import
    assert run_import_job(job.id) == "skipped"  # delivered twice: the second does nothing
    db.session.expire_all()  # the task ran in its own app context and session
    job = db.session.get(ImportJob, job.id)
    assert (job.status, job.undone_by_id) == ("undone", bureau.id)
    assert _firm(1) is None


def test_worker_undo_refused_keeps_the_import_and_lists_the_rows(app, write_xlsx, monkeypatch):
    from tracker.imports.tasks import run_import_job

    monkeypatch.setitem(app.config, "IMPORT_SYNC_UNDO", 1)
    bureau = make_user("bureau")
    job = run_file(write_xlsx(_rows(2)), "enterprises", user=bureau)
    _reminder_for(_firm(2))
    assert services.request_undo(job, user_id=bureau.id) is None
    db.session.commit()
    assert run_import_job(job.id) == "refused"
    db.session.expire_all()  # the task ran in its own app context and session
    job = db.session.get(ImportJob, job.id)
    assert job.status == "done"
    assert [r["row"] for r in job.options["undo_refused"]] == [3]
    assert _firm(1) is not None
