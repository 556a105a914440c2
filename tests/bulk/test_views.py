"""Bulk actions from the list and the merge pages, through HTTP: scope, audit, limits."""

from __future__ import annotations

import io
from datetime import date

import pytest
from openpyxl import load_workbook
from sqlalchemy import func, select

from tests.conftest import count_queries, csrf_token, login
from tests.factories import make_enterprise, make_user
from tracker.audit.models import AuditEvent
from tracker.bulk import actions, merge
from tracker.bulk.models import MergeRecord
from tracker.clock import frozen
from tracker.enterprises import services as enterprises
from tracker.extensions import db
from tracker.integrity.checks import INVARIANTS, run_checks
from tracker.ladder.models import Application


@pytest.fixture
def day():
    """Freeze the clock on a working day in 2026."""
    with frozen(date(2026, 6, 30)):
        yield


def _post(client, data):
    token = csrf_token(client, "/")
    return client.post("/bulk/enterprises", data={"next": "/enterprises/", "csrf_token": token,
                                                  **data})


def _batch_events(action: str) -> list[AuditEvent]:
    return db.session.scalars(select(AuditEvent).where(
        AuditEvent.batch_id.is_not(None), AuditEvent.action == action)).all()


def test_assign_officer_goes_through_the_service_audited_per_firm_with_one_batch(
        login_as, day):
    officer = make_user("bureau", name="李专员")
    a, b = make_enterprise(), make_enterprise()
    client = login_as(make_user("bureau"))
    response = _post(client, {"action": "assign", "officer_id": str(officer.id),
                              "ids": [str(a.id), str(b.id)]})
    assert response.status_code == 302
    assert a.officer_id == officer.id and b.officer_id == officer.id
    events = [e for e in _batch_events("update") if e.changes.get("officer_id")]
    assert {e.enterprise_id for e in events} == {a.id, b.id}
    assert len({e.batch_id for e in events}) == 1
    page = client.get("/enterprises/").get_data(as_text=True)
    assert "已为 2 家企业更换联系专员" in page


def test_archive_and_start_applications(login_as, day):
    a, b = make_enterprise(), make_enterprise()
    client = login_as(make_user("zone", zone="hitech"))
    _post(client, {"action": "apply", "kind": "tech_sme", "year": "2026",
                   "ids": [str(a.id), str(b.id)]})
    apps = db.session.scalars(select(Application)).all()
    assert {x.enterprise_id for x in apps} == {a.id, b.id}
    assert {x.kind for x in apps} == {"tech_sme"}
    assert len({e.batch_id for e in _batch_events("create")
                if e.entity_type == "application"}) == 1
    _post(client, {"action": "archive", "reason": "注销", "ids": [str(a.id), str(b.id)]})
    assert a.status == b.status == "archived"
    assert {e.enterprise_id for e in _batch_events("archive")} == {a.id, b.id}
    report = run_checks(list(INVARIANTS))  # the after-save pipeline kept results current
    assert report.ok, report.as_dict()


@pytest.mark.parametrize(("action", "extra"), [
    ("assign", {"officer_id": ""}), ("archive", {}), ("export", {}),
    ("apply", {"kind": "tech_sme", "year": "2026"}),
])
def test_an_out_of_scope_id_refuses_the_whole_request(login_as, day, action, extra):
    mine = make_enterprise(zone="hitech", officer_id=make_user("bureau").id)
    theirs = make_enterprise(zone="teda")
    client = login_as(make_user("zone", zone="hitech"))
    events = db.session.scalar(select(func.count()).select_from(AuditEvent))
    response = _post(client, {"action": action, "ids": [str(mine.id), str(theirs.id)], **extra})
    assert response.status_code == 302  # back to the list, no file, nothing done
    assert mine.status == "active" and mine.officer_id is not None
    assert not db.session.scalars(select(Application)).all()
    assert db.session.scalar(select(func.count()).select_from(AuditEvent)) == events
    assert "1 家企业不在您可修改的范围内" in client.get("/enterprises/").get_data(as_text=True)


def test_viewers_and_managers_may_not_post(app, day):
    firm = make_enterprise()
    for role in ("viewer", "carrier_manager"):
        client = app.test_client()
        login(client, make_user(role))
        assert _post(client, {"action": "archive", "ids": [str(firm.id)]}).status_code == 403
    assert firm.status == "active"


def test_too_many_ids_are_refused_with_a_message(login_as, day):
    client = login_as(make_user("bureau"))
    ids = [str(i) for i in range(1, actions.MAX_IDS + 2)]
    _post(client, {"action": "archive", "ids": ids})
    page = client.get("/enterprises/").get_data(as_text=True)
    assert f"一次最多处理 {actions.MAX_IDS} 家企业" in page


def test_export_of_the_selected_firms_only(login_as, day):
    a = make_enterprise(name="导出甲科技有限公司")
    make_enterprise(name="导出乙科技有限公司")
    client = login_as(make_user("bureau"))
    response = _post(client, {"action": "export", "ids": [str(a.id)]})
    assert response.status_code == 200
    sheet = load_workbook(io.BytesIO(response.data)).active
    names = [row[0].value for row in sheet.iter_rows(min_row=2)]
    assert names == ["导出甲科技有限公司"]
    assert [e.enterprise_id for e in _batch_events("export")] == [a.id]


def test_duplicates_and_merge_pages_for_bureau_only(app, login_as, day):
    a = make_enterprise(name="合并页科技有限公司")
    b = make_enterprise(name="合并页科技（天津）有限责任公司".replace("（天津）", ""))
    zone = app.test_client()
    login(zone, make_user("zone", zone="hitech"))
    assert zone.get("/bulk/duplicates").status_code == 403
    assert zone.get(f"/bulk/merge?a={a.id}&b={b.id}").status_code == 403
    token = csrf_token(zone, "/")
    assert zone.post("/bulk/merge", data={"a": a.id, "b": b.id, "survivor": a.id,
                                          "csrf_token": token}).status_code == 403
    client = login_as(make_user("bureau"))
    page = client.get("/bulk/duplicates").get_data(as_text=True)
    assert "合并页科技有限公司" in page and f"a={a.id}&amp;b={b.id}" in page
    assert client.get(f"/bulk/merge?a={a.id}&b={b.id}").status_code == 200
    response = client.post("/bulk/merge", data={"a": a.id, "b": b.id, "survivor": b.id,
                                                "name": a.id,
                                                "csrf_token": csrf_token(client, "/")})
    assert response.status_code == 302
    record = db.session.scalar(select(MergeRecord))
    assert (record.survivor_id, record.loser_id) == (b.id, a.id)
    assert b.name == "合并页科技有限公司"
    assert client.get(f"/bulk/merges/{record.id}").status_code == 200
    assert zone.get(f"/bulk/merges/{record.id}").status_code == 403
    assert zone.post(f"/bulk/merges/{record.id}/undo",
                     data={"csrf_token": token}).status_code == 403
    assert record.undone_at is None
    client.post(f"/bulk/merges/{record.id}/undo", data={"csrf_token": csrf_token(client, "/")})
    assert record.undone_at is not None and a.status == "active"
    assert db.session.scalar(select(func.count()).select_from(MergeRecord)) == 1


def test_the_merged_away_record_points_at_the_survivor_and_history_names_the_merge(login_as,
                                                                                     day):
    keep, gone = make_enterprise(), make_enterprise()
    enterprises.save_contact(gone, {"name": "张三", "email": "z@x.example",
                                    "receives_reminders": True})
    merge.merge_enterprises(keep, gone, {})
    client = login_as(make_user("bureau"))
    page = client.get(f"/enterprises/{gone.id}").get_data(as_text=True)
    assert "此记录已合并到另一条企业记录" in page and f"/enterprises/{keep.id}" in page
    history = client.get(f"/enterprises/{keep.id}/history").get_data(as_text=True)
    assert "合并" in history and "联系人" in history and "contacts" not in history


def test_the_duplicates_page_costs_the_same_queries_for_more_groups(login_as, day):
    client = login_as(make_user("bureau"))
    for n in range(2):
        make_enterprise(name=f"计数{n}科技有限公司")
        make_enterprise(name=f"计数{n}科技有限责任公司")
    with count_queries() as few:
        assert client.get("/bulk/duplicates").status_code == 200
    for n in range(2, 8):
        make_enterprise(name=f"计数{n}科技有限公司")
        make_enterprise(name=f"计数{n}科技有限责任公司")
    with count_queries() as more:
        page = client.get("/bulk/duplicates").get_data(as_text=True)
    assert page.count("duplicate-group") == 8
    assert len(more) == len(few)


def test_a_merge_from_a_form_read_before_an_edit_is_refused(login_as, day):
    a, b = make_enterprise(), make_enterprise()
    client = login_as(make_user("bureau"))
    stale = a.version
    enterprises.update_enterprise(a, {"website": "https://new.example"}, expected_version=None)
    db.session.flush()
    response = client.post("/bulk/merge", data={
        "a": a.id, "b": b.id, "survivor": a.id, "a_version": stale, "b_version": b.version,
        "csrf_token": csrf_token(client, "/")})
    assert response.status_code == 409  # the form again, saying someone saved first
    assert db.session.scalar(select(func.count()).select_from(MergeRecord)) == 0
    assert b.merged_into_id is None


def test_assigning_someone_who_is_no_officer_is_refused(login_as, day):
    firm = make_enterprise()
    viewer = make_user("viewer")
    client = login_as(make_user("bureau"))
    _post(client, {"action": "assign", "officer_id": str(viewer.id), "ids": [str(firm.id)]})
    assert firm.officer_id is None
    assert "请选择有效的联系专员" in client.get("/enterprises/").get_data(as_text=True)


def test_a_legacy_record_is_compared_with_a_firm_named_by_its_code(login_as, day):
    legacy = make_enterprise(name="遗留记录科技有限公司")
    other = make_enterprise(name="另一家科技有限公司")
    legacy.uscc = "12120116A00000000X"
    db.session.flush()
    client = login_as(make_user("bureau"))
    page = client.get("/bulk/duplicates?tab=legacy").get_data(as_text=True)
    assert "遗留记录科技有限公司" in page and "另一条记录的统一社会信用代码" in page
    code = other.uscc[:8] + " " + other.uscc[8:].lower()
    compared = client.get(f"/bulk/merge?a={code}&b={legacy.id}").get_data(as_text=True)
    assert "另一家科技有限公司" in compared and "遗留记录科技有限公司" in compared
