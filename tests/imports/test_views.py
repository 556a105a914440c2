"""The web flow: upload, mapping, preview, run, errors download, undo; roles and scoping."""

import html as html_lib
import io
import re
from datetime import date

import pytest
from openpyxl import load_workbook
from sqlalchemy import select

from tests.conftest import count_queries, csrf_from, login
from tests.factories import make_enterprise, make_user, valid_uscc
from tests.imports.conftest import ENTERPRISE_HEADERS
from tracker.enterprises.models import Enterprise
from tracker.extensions import db
from tracker.imports.models import ImportJob, MappingPreset
from tracker.imports.tasks import run_import_job
from tracker.ladder.models import Qualification


def _rows(n: int, bad_zone_row: int | None = None) -> list[list]:
    rows = [ENTERPRISE_HEADERS]
    for i in range(1, n + 1):
        rows.append([f"天津网页导入公司{i}", valid_uscc(95000 + i), "2020-01-02",
                     "火星" if i == bad_zone_row else "高新区", "新材料", None, None, i, "1.5"])
    return rows


def _upload(client, path, kind="enterprises"):
    token = csrf_from(client.get("/imports/").get_data(as_text=True))
    return client.post("/imports/upload", data={
        "csrf_token": token, "kind": kind,
        "file": (io.BytesIO(path.read_bytes()), path.name)}, content_type="multipart/form-data")


def _job_id(response) -> int:
    return int(response.headers["Location"].rstrip("/").split("/")[-2])


@pytest.mark.parametrize("role", ["viewer", "carrier_manager"])
def test_only_editors_import(client, role, write_xlsx):
    login(client, make_user(role))
    page = client.get("/imports/")
    assert page.status_code == 200
    html = page.get_data(as_text=True)
    assert "导出" in html and "上传名单" not in html
    response = client.post("/imports/upload", data={
        "csrf_token": csrf_from(html), "kind": "enterprises",
        "file": (io.BytesIO(write_xlsx(_rows(1)).read_bytes()), "a.xlsx")},
        content_type="multipart/form-data")
    assert response.status_code == 403


def test_oversized_upload_gets_a_clear_message(app, client, monkeypatch):
    login(client, make_user("bureau"))
    token = csrf_from(client.get("/imports/").get_data(as_text=True))
    monkeypatch.setitem(app.config, "MAX_CONTENT_LENGTH", 1024 * 1024)
    response = client.post("/imports/upload", data={
        "csrf_token": token, "kind": "enterprises",
        "file": (io.BytesIO(b"x" * (1024 * 1024 + 10)), "big.csv")},
        content_type="multipart/form-data")
    assert response.status_code == 413
    assert "1 MB 的上传上限" in response.get_data(as_text=True)


def test_full_flow_preview_run_errors_and_undo(client, write_xlsx):
    login(client, make_user("bureau"))
    response = _upload(client, write_xlsx(_rows(3, bad_zone_row=2)))
    assert response.status_code == 302
    job_id = _job_id(response)
    page = client.get(f"/imports/{job_id}/mapping")
    html = page.get_data(as_text=True)
    assert "企业名称" in html
    assert 'value="uscc" selected' in html
    response = client.post(f"/imports/{job_id}/mapping", data={
        "csrf_token": csrf_from(html), "year": "2024", "preset_name": "高新区月报",
        **{f"map-{i}": key for i, key in enumerate(
            ["name", "uscc", "founded_on", "zone", "tech_field", "", "", "employees",
             "revenue_wan"])}})
    assert response.status_code == 302
    job = db.session.get(ImportJob, job_id)
    assert (job.status, job.rows, job.valid, job.created) == ("previewed", 3, 2, 2)
    assert db.session.scalar(select(Enterprise).where(Enterprise.uscc == valid_uscc(95001))) \
        is None
    assert db.session.scalar(select(MappingPreset.name)) == "高新区月报"
    page = client.get(f"/imports/{job_id}").get_data(as_text=True)
    assert "火星" in page and "试运行" in page
    errors = client.get(f"/imports/{job_id}/errors.xlsx")
    sheet = load_workbook(io.BytesIO(errors.data)).active
    assert [c.value for c in sheet[1]] == ["行号", "列", "内容", "问题"]
    assert (sheet["A2"].value, sheet["B2"].value, sheet["C2"].value) == (3, "所属区域", "火星")

    # all-or-nothing refuses, keep-valid imports the two good rows
    client.post(f"/imports/{job_id}/run", data={"csrf_token": csrf_from(page)})
    assert db.session.get(ImportJob, job_id).status == "rejected"
    client.post(f"/imports/{job_id}/run", data={"csrf_token": csrf_from(page), "keep_valid": "y"})
    job = db.session.get(ImportJob, job_id)
    assert (job.status, job.created) == ("done", 2)
    assert db.session.scalar(select(Enterprise).where(Enterprise.uscc == valid_uscc(95001)))

    confirm = client.get(f"/imports/{job_id}/undo").get_data(as_text=True)
    assert "确认撤销" in confirm
    client.post(f"/imports/{job_id}/undo", data={"csrf_token": csrf_from(confirm)})
    assert db.session.get(ImportJob, job_id).status == "undone"
    assert db.session.scalar(select(Enterprise).where(Enterprise.uscc == valid_uscc(95001))) \
        is None


def test_saved_preset_is_offered_for_the_next_file(client, write_xlsx):
    login(client, make_user("bureau"))
    path = write_xlsx([["代码", "公司"], [valid_uscc(95001), "甲"]])
    job_id = _job_id(_upload(client, path))
    db.session.add(MappingPreset(kind="enterprises", name="我的方案",
                                 mapping={"代码": "uscc", "公司": "name"}))
    db.session.flush()
    preset = db.session.scalar(select(MappingPreset))
    html = client.get(f"/imports/{job_id}/mapping?preset={preset.id}").get_data(as_text=True)
    assert 'value="uscc" selected' in html and 'value="name" selected' in html


def test_unreadable_upload_is_refused_with_a_clear_message(client, tmp_path):
    login(client, make_user("bureau"))
    bad = tmp_path / "bad.xlsx"
    bad.write_bytes(b"not a workbook")
    response = _upload(client, bad)
    assert response.status_code == 400
    assert "无法打开该 Excel 文件" in response.get_data(as_text=True)


def test_large_files_are_queued_and_run_by_the_task(app, client, write_xlsx, monkeypatch):
    monkeypatch.setitem(app.config, "IMPORT_SYNC_ROWS", 1)
    login(client, make_user("bureau"))
    job_id = _job_id(_upload(client, write_xlsx(_rows(3))))
    html = client.get(f"/imports/{job_id}/mapping").get_data(as_text=True)
    client.post(f"/imports/{job_id}/mapping", data={
        "csrf_token": csrf_from(html), "year": "2024",
        **{f"map-{i}": k for i, k in enumerate(["name", "uscc", "", "zone"])}})
    assert db.session.get(ImportJob, job_id).status == "queued"
    progress = client.get(f"/imports/{job_id}/progress.json").get_json()
    assert progress["finished"] is False and progress["total"] == 3
    assert "progress-bar" in client.get(f"/imports/{job_id}").get_data(as_text=True)
    assert run_import_job(job_id) == "previewed"
    assert run_import_job(job_id) == "skipped"  # delivered twice: the second does nothing
    progress = client.get(f"/imports/{job_id}/progress.json").get_json()
    assert progress["finished"] is True and progress["counts"]["created"] == 3


def test_zone_staff_see_only_their_own_jobs(client, write_xlsx):
    other = make_user("zone", zone="hitech")
    login(client, other)
    job_id = _job_id(_upload(client, write_xlsx(_rows(1))))
    client.post("/logout", data={"csrf_token": csrf_from(client.get("/imports/")
                                                          .get_data(as_text=True))})
    login(client, make_user("zone", zone="hitech"))
    assert client.get(f"/imports/{job_id}").status_code == 404
    assert client.get(f"/imports/{job_id}/errors.xlsx").status_code == 404


def test_reconciliation_report_and_row_action(client, write_xlsx):
    login(client, make_user("bureau"))
    listed = make_enterprise(uscc=valid_uscc(96001), name="名单有未记录公司")
    wrong = make_enterprise(uscc=valid_uscc(96002), name="编号不一致公司")
    missing = make_enterprise(uscc=valid_uscc(96003), name="名单上没有的公司")
    for firm, number in ((wrong, "GR2024120000XX"), (missing, "GR202412000777")):
        db.session.add(Qualification(enterprise_id=firm.id, kind="hnte", number=number,
                                     granted_on=date(2024, 11, 1),
                                     valid_until=date(2027, 10, 31)))
    db.session.flush()
    path = write_xlsx([["企业名称", "统一社会信用代码", "证书编号", "发证日期"],
                       [listed.name, listed.uscc, "GR202412000001", "2024年11月1日"],
                       [wrong.name, wrong.uscc, "GR202412000002", "2024/11/01"],
                       ["外区公司", valid_uscc(96004), "GR202412000003", "2024-11-01"]])
    html = client.get("/imports/reconcile").get_data(as_text=True)
    response = client.post("/imports/reconcile", data={
        "csrf_token": csrf_from(html), "kind": "hnte", "year": "2024",
        "file": (io.BytesIO(path.read_bytes()), "list.xlsx")}, content_type="multipart/form-data")
    report = client.get(response.headers["Location"]).get_data(as_text=True)
    sections = report.split('<h2 class="h6 mt-3">')
    assert valid_uscc(96004) in sections[1]       # not in the tracker at all
    assert listed.name in sections[2]              # firm known, qualification not recorded
    assert "GR2024120000XX → GR202412000002" in sections[3]
    assert missing.name in sections[4]             # recorded, absent from the list
    token_url = response.headers["Location"].split("?")[0]
    client.post(f"{token_url}/apply", data={
        "csrf_token": csrf_from(report), "kind": "hnte", "enterprise_id": listed.id,
        "number": "GR202412000001", "granted_on": "2024-11-01", "valid_until": "2027-10-31"})
    assert db.session.scalar(select(Qualification.number).where(
        Qualification.enterprise_id == listed.id)) == "GR202412000001"
    refused = client.post(f"{token_url}/apply", data={
        "csrf_token": csrf_from(report), "kind": "hnte", "enterprise_id": wrong.id,
        "number": "GR209912000002", "granted_on": "2099-11-01"}, follow_redirects=True)
    assert refused.status_code == 200
    assert "认定日期不能晚于今天" in refused.get_data(as_text=True)


def test_job_list_query_count_does_not_grow_with_the_page(client):
    officer = make_user("bureau")
    login(client, officer)

    def add_jobs(n):
        for i in range(n):
            db.session.add(ImportJob(kind="enterprises", filename=f"f{i}.xlsx",
                                     stored_path="imports/x.xlsx",
                                     created_by_id=make_user("zone").id))
        db.session.flush()

    add_jobs(2)
    with count_queries() as few:
        assert client.get("/imports/").status_code == 200
    add_jobs(10)
    with count_queries() as many:
        html = client.get("/imports/").get_data(as_text=True)
    assert "f9.xlsx" in html
    assert len(many) == len(few)


def test_enterprise_list_links_to_the_filtered_export(client):
    login(client, make_user("bureau"))
    html = client.get("/enterprises/?zone=teda&q=泰达").get_data(as_text=True)
    assert "/imports/export/enterprises?" in html
    link = html.split('href="/imports/export/enterprises?')[1].split('"')[0]
    assert "zone=teda" in link


@pytest.mark.parametrize("kind", ["enterprises", "qualifications", "tenancies"])
def test_blank_template_headers_are_recognised_by_the_importer(client, kind):
    from tracker.imports import columns

    login(client, make_user("bureau"))
    response = client.get(f"/imports/template/{kind}.xlsx")
    headers = [c.value for c in load_workbook(io.BytesIO(response.data)).active[1]]
    mapping = columns.auto_mapping(kind, headers)
    assert len(mapping) == len(headers)
    assert columns.check_mapping(kind, mapping) == []


@pytest.mark.parametrize("sort", ["-created", "created"])
def test_job_list_sorts_by_time_and_pages_by_keyset(client, sort):
    from datetime import timedelta

    from tracker.clock import now_utc

    login(client, make_user("bureau"))
    start = now_utc()
    for i in range(5):
        db.session.add(ImportJob(kind="enterprises", filename=f"job{i}.xlsx",
                                 stored_path="imports/x.xlsx", created_at=start
                                 - timedelta(minutes=(i * 3) % 5)))
    db.session.flush()
    seen, url = [], f"/imports/?sort={sort}&size=2"
    while url:
        page = client.get(url).get_data(as_text=True)
        seen += re.findall(r">(job\d)\.xlsx<", page)
        link = re.search(r'href="([^"]*after=[^"]*)"', page)
        url = html_lib.unescape(link.group(1)) if link else None
    newest_first = ["job0", "job2", "job4", "job1", "job3"]  # minutes ago: 0, 1, 2, 3, 4
    assert seen == (newest_first if sort == "-created" else newest_first[::-1])
    assert "size=100" in page
