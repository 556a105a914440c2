"""Exports: only what the role may see, Chinese headers, 万元, formulas never run."""

import csv
import io
from datetime import date
from decimal import Decimal

import pytest
from openpyxl import load_workbook

from tests.conftest import login
from tests.factories import make_carrier, make_enterprise, make_tenancy, make_user, valid_uscc
from tracker.clock import frozen
from tracker.enterprises import services as enterprise_services
from tracker.extensions import db
from tracker.imports.exports import neutralise
from tracker.ladder.models import Qualification


@pytest.mark.parametrize(
    ("value", "expected"),
    [("=1+1", "'=1+1"), ("+86 22 1234", "'+86 22 1234"), ("-2", "'-2"), ("@SUM(A1)", "'@SUM(A1)"),
     ("\tx", "'\tx"), ("\rx", "'\rx"), ("天津=公司", "天津=公司"), (-2, -2), (None, None)],
)
def test_neutralise(value, expected):
    assert neutralise(value) == expected


@pytest.fixture
def firms():
    """Firms in two zones, one with a formula-like name and figures in 元."""
    hitech = make_enterprise(uscc=valid_uscc(97001), name='=HYPERLINK("http://evil","点我")',
                             zone="hitech")
    enterprise_services.save_metrics(hitech, 2024, {"employees": 30,
                                                    "revenue": Decimal("12345678.00")})
    enterprise_services.save_contact(hitech, {"name": "张三", "phone": "+8622123",
                                              "email": "z@example.com"})
    teda = make_enterprise(uscc=valid_uscc(97002), name="天津泰达公司", zone="teda")
    return {"hitech": hitech, "teda": teda}


def _csv(response) -> list[list[str]]:
    raw = response.data
    assert raw.startswith("\ufeff".encode())
    return list(csv.reader(io.StringIO(raw.decode("utf-8-sig"))))


def test_enterprise_csv_has_chinese_headers_wan_and_neutralised_cells(client, firms):
    login(client, make_user("bureau"))
    rows = _csv(client.get("/imports/export/enterprises?format=csv"))
    header = rows[0]
    assert header[:3] == ["企业名称", "统一社会信用代码", "所属区域"]
    row = dict(zip(header, next(r for r in rows if r[1] == valid_uscc(97001)), strict=True))
    assert row["企业名称"] == '\'=HYPERLINK("http://evil","点我")'
    assert row["联系电话"] == "'+8622123"
    assert row["营业收入（万元）"] == "1234.5678"
    assert row["从业人数"] == "30"
    assert row["所属区域"] == "高新区"


def test_enterprise_xlsx_opens_with_headers_numbers_and_no_formulas(client, firms):
    login(client, make_user("bureau"))
    response = client.get("/imports/export/enterprises?format=xlsx")
    assert response.mimetype.endswith("spreadsheetml.sheet")
    sheet = load_workbook(io.BytesIO(response.data)).active
    header = [c.value for c in sheet[1]]
    assert header[0] == "企业名称"
    data = {r[1]: dict(zip(header, r, strict=True))
            for r in sheet.iter_rows(min_row=2, values_only=True)}
    row = data[valid_uscc(97001)]
    assert row["企业名称"].startswith("'=")
    assert row["营业收入（万元）"] == pytest.approx(1234.5678)
    for cells in sheet.iter_rows(min_row=2):
        assert all(c.data_type != "f" for c in cells)


def test_export_follows_the_list_filters(client, firms):
    login(client, make_user("bureau"))
    rows = _csv(client.get("/imports/export/enterprises?format=csv&zone=teda"))
    assert [r[1] for r in rows[1:]] == [valid_uscc(97002)]
    rows = _csv(client.get("/imports/export/enterprises?format=csv&q=泰达"))
    assert [r[0] for r in rows[1:]] == ["天津泰达公司"]


@pytest.mark.parametrize(("role", "visible"), [("zone", {valid_uscc(97001)}),
                                               ("viewer", {valid_uscc(97001), valid_uscc(97002)})])
def test_exports_are_scoped_by_role(client, firms, role, visible):
    login(client, make_user(role))
    for fmt in ("csv", "xlsx"):
        response = client.get(f"/imports/export/enterprises?format={fmt}")
        if fmt == "csv":
            codes = {r[1] for r in _csv(response)[1:]}
        else:
            sheet = load_workbook(io.BytesIO(response.data)).active
            codes = {r[1] for r in sheet.iter_rows(min_row=2, values_only=True)}
        assert codes == visible


def test_qualification_export_is_scoped(client, firms):
    for firm in firms.values():
        db.session.add(Qualification(enterprise_id=firm.id, kind="hnte", number=f"GR{firm.id}",
                                     granted_on=date(2024, 12, 1), valid_until=date(2027, 11, 30)))
    db.session.flush()
    login(client, make_user("zone", zone="hitech"))
    rows = _csv(client.get("/imports/export/qualifications?format=csv&kind=hnte"))
    assert rows[0][:4] == ["企业名称", "统一社会信用代码", "所属区域", "资质类型"]
    assert [r[1] for r in rows[1:]] == [valid_uscc(97001)]
    assert rows[1][3] == "国家高新技术企业"


def test_tenancy_export_is_scoped_to_the_managers_carrier(client, firms):
    carrier = make_carrier(name="测试孵化器甲")
    make_tenancy(firms["teda"], carrier)
    make_tenancy(firms["hitech"], make_carrier(name="另一个孵化器"))
    login(client, make_user("carrier_manager", carrier_id=carrier.id))
    rows = _csv(client.get("/imports/export/tenancies?format=csv"))
    assert rows[0][2] == "载体名称"
    assert [(r[1], r[2]) for r in rows[1:]] == [(valid_uscc(97002), "测试孵化器甲")]
    sheet = load_workbook(io.BytesIO(client.get("/imports/export/tenancies").data)).active
    assert [r[1] for r in sheet.iter_rows(min_row=2, values_only=True)] == [valid_uscc(97002)]


def test_export_page_offers_only_the_carriers_the_role_may_see(client):
    mine, other = make_carrier(name="测试孵化器甲"), make_carrier(name="另一个孵化器")
    login(client, make_user("carrier_manager", carrier_id=mine.id))
    html = client.get("/imports/export/").get_data(as_text=True)
    assert f'value="{mine.id}"' in html
    assert other.name not in html


def test_leadership_workbook(client, firms):
    with frozen(date(2025, 3, 1)):
        db.session.add(Qualification(enterprise_id=firms["hitech"].id, kind="hnte",
                                     number="GR1", granted_on=date(2022, 5, 1),
                                     valid_until=date(2025, 4, 30)))
        db.session.add(Qualification(enterprise_id=firms["teda"].id, kind="tech_sme",
                                     number="2025X", granted_on=date(2025, 2, 1),
                                     valid_until=date(2025, 12, 31)))
        db.session.flush()
        login(client, make_user("viewer"))
        response = client.get("/imports/export/report.xlsx")
    book = load_workbook(io.BytesIO(response.data))
    # issue 14 adds sheets after these three (plan indicators, the dashboard's trend data)
    summary, new, expiring, *added = book.worksheets
    assert any(sheet.title.startswith("月度趋势") for sheet in added)
    assert any(sheet.title.startswith("规划指标") for sheet in added)
    table = {r[0]: r for r in summary.iter_rows(min_row=2, values_only=True)}
    assert table["国家高新技术企业"][3] == 1   # 高新区 column
    assert table["科技型中小企业"][1] == 1     # 经开区 column
    assert [r[1] for r in new.iter_rows(min_row=2, values_only=True)] == [valid_uscc(97002)]
    assert [r[4] for r in expiring.iter_rows(min_row=2, values_only=True)] == ["GR1"]
