"""The reconciliation list is parsed once per upload; each view compares it with fresh data."""

import io
from datetime import date

from tests.conftest import csrf_from, login
from tests.factories import make_enterprise, make_user, valid_uscc
from tracker.extensions import db
from tracker.ladder.models import Qualification


def _upload(client, path, kind="hnte"):
    html = client.get("/imports/reconcile").get_data(as_text=True)
    return client.post("/imports/reconcile", data={
        "csrf_token": csrf_from(html), "kind": kind, "year": "2024",
        "file": (io.BytesIO(path.read_bytes()), path.name)}, content_type="multipart/form-data")


def test_the_report_reads_the_file_once_and_the_database_every_time(client, write_xlsx,
                                                                    upload_dir):
    login(client, make_user("bureau"))
    firm = make_enterprise(uscc=valid_uscc(97001), name="缓存比对公司")
    path = write_xlsx([["企业名称", "统一社会信用代码", "证书编号", "发证日期"],
                       [firm.name, firm.uscc, "GR202412009001", "2024-11-01"]])
    response = _upload(client, path)
    assert response.status_code == 302
    url = response.headers["Location"]
    first = client.get(url).get_data(as_text=True)
    assert firm.name in first.split('<h2 class="h6 mt-3">')[2]  # listed, not recorded

    # The stored file is now unreadable: the report still comes from the parsed list ...
    stored = next(p for p in (upload_dir / "imports").iterdir() if p.suffix == ".xlsx")
    stored.write_bytes(b"not a workbook any more")
    # ... and the database is read afresh: the qualification recorded since now matches.
    db.session.add(Qualification(enterprise_id=firm.id, kind="hnte", number="GR202412009001",
                                 granted_on=date(2024, 11, 1), valid_until=date(2027, 10, 31)))
    db.session.flush()
    second = client.get(url)
    assert second.status_code == 200
    html = second.get_data(as_text=True)
    assert firm.name not in html.split('<h2 class="h6 mt-3">')[2]


def test_an_unreadable_list_is_refused_at_upload(client, tmp_path, upload_dir):
    login(client, make_user("bureau"))
    path = tmp_path / "list.xlsx"
    path.write_bytes(b"PK not really")
    response = _upload(client, path)
    assert response.status_code == 400
    assert "无法打开该 Excel 文件" in response.get_data(as_text=True)
    assert list((upload_dir / "imports").iterdir()) == []  # nothing kept
