"""The input layer: each hostile value from the security review is refused with a 400 or a
field message, never a 500 (tests/test_fuzz_routes.py then tries every route)."""

from __future__ import annotations

import base64
import csv
import zipfile
from decimal import Decimal

import pytest
from werkzeug.datastructures import MultiDict
from wtforms import DecimalField, IntegerField, StringField, TextAreaField

from tests.conftest import csrf_from, login
from tests.factories import make_enterprise, make_user
from tracker.accounts.access import safe_next
from tracker.imports.reader import FileUnreadable, open_sheet
from tracker.inputs import TrackerForm, json_body, nesting_depth, parse_int
from tracker.pagination import SortKey, decode_cursor


def _cursor(raw: str) -> str:
    return base64.urlsafe_b64encode(raw.encode()).decode().rstrip("=")


@pytest.mark.parametrize(("raw", "expected"), [
    ("42", 42), (" 7 ", 7), ("9" * 30, None), ("²", None), ("1e3", None), ("-1", None),
    ("", None), (None, None),
])
def test_parse_int_accepts_only_bounded_ascii_digits(raw, expected):
    assert parse_int(raw) == expected


@pytest.mark.parametrize("raw", [
    '["x", Infinity]', '["x", NaN]', "[1e999, 1]", f'["x", {"9" * 30}]', '["a\\u0000b", 1]',
    "[" * 5000 + "]" * 5000,
])
def test_a_forged_cursor_is_no_cursor(raw):
    keys = [SortKey(column=None), SortKey(column=None, kind="int")]
    assert decode_cursor(_cursor(raw), keys) is None


def test_a_cursor_we_wrote_still_decodes():
    keys = [SortKey(column=None), SortKey(column=None, kind="int")]
    assert decode_cursor(_cursor('["海河", 12]'), keys) == ["海河", 12]


def test_hostile_query_parameters_answer_400_not_500(app, client):
    login(client, make_user("bureau"))
    for url in ("/enterprises/?q=a%00b", "/enterprises/?q=a%0D%0Ab",
                "/login?next=/%0D%0ASet-Cookie:x=1"):
        assert client.get(url).status_code == 400, url
    for url in (f"/enterprises/?officer_id={'9' * 30}", f"/?year={'9' * 30}",
                f"/enterprises/?after={_cursor('[1e999, 1]')}", f"/enterprises/{'9' * 30}"):
        assert client.get(url).status_code in (200, 404), url


def test_the_api_answers_json_400_to_deep_nesting(app, client):
    login(client, make_user("viewer"))
    response = client.post("/api/v1/eligibility/evaluate", data="[" * 100_000 + "]" * 100_000,
                           content_type="application/json")
    assert response.status_code == 400 and response.is_json
    response = client.post("/api/v1/eligibility/evaluate", data='{"as_of": 1e999}',
                           content_type="application/json")
    assert response.status_code == 422 and response.is_json


def test_nesting_depth_ignores_brackets_in_strings():
    assert nesting_depth('{"a": "[[[[", "b": [[1]]}') == 3


def test_json_body_refuses_infinity(app):
    with (app.test_request_context(data="[Infinity]", content_type="application/json"),
          pytest.raises(ValueError, match="Infinity")):
        json_body()


class _Sample(TrackerForm):
    name = StringField()
    note = TextAreaField()
    staff = IntegerField()
    revenue = DecimalField()


@pytest.mark.parametrize(("field", "value"), [
    ("name", "海河\r\nBcc: x@example.com"), ("staff", "9" * 30), ("revenue", "Infinity"),
    ("revenue", "sNaN"), ("revenue", "1E+400"),
])
def test_tracker_form_refuses_what_no_column_can_hold(app, field, value):
    with app.test_request_context(method="POST"):
        form = _Sample(formdata=MultiDict({field: value}), meta={"csrf": False})
        assert not form.validate()
        assert form.errors.get(field), form.errors


def test_tracker_form_keeps_line_breaks_in_text_areas_and_plain_values(app):
    with app.test_request_context(method="POST"):
        form = _Sample(formdata=MultiDict({"name": "海河科技", "note": "第一行\r\n第二行",
                                           "staff": "12", "revenue": "1234.5"}),
                       meta={"csrf": False})
        assert form.validate(), form.errors
        assert form.revenue.data == Decimal("1234.5")


def test_a_name_with_a_line_break_is_refused_on_the_enterprise_form(app, client):
    user = make_user("bureau")
    enterprise = make_enterprise()
    login(client, user)
    page = client.get(f"/enterprises/{enterprise.id}/edit").get_data(as_text=True)
    response = client.post(f"/enterprises/{enterprise.id}/edit", data={
        "csrf_token": csrf_from(page), "version": str(enterprise.version),
        "name": "海河\r\n科技", "uscc": enterprise.uscc, "zone": enterprise.zone})
    assert response.status_code == 400
    assert "换行" in response.get_data(as_text=True)


def test_safe_next_refuses_control_characters():
    assert safe_next("/enterprises/\r\nSet-Cookie: a=b", "/") == "/"
    assert safe_next("/enterprises/", "/") == "/enterprises/"


def test_a_csv_field_over_the_parser_limit_is_a_clear_file_error(tmp_path):
    path = tmp_path / "big.csv"
    with path.open("w", encoding="utf-8", newline="") as handle:
        writer = csv.writer(handle)
        writer.writerow(["企业名称", "统一社会信用代码"])
        writer.writerow(["x" * (csv.field_size_limit() + 10), "91120116MA05J0XXXX"])
    with pytest.raises(FileUnreadable), open_sheet(path) as sheet:
        list(sheet.rows)


def test_malformed_xml_inside_an_xlsx_is_a_clear_file_error(tmp_path):
    from openpyxl import Workbook

    good = tmp_path / "good.xlsx"
    workbook = Workbook()
    sheet = workbook.active
    sheet.append(["企业名称", "统一社会信用代码"])
    for i in range(50):
        sheet.append([f"公司{i}", f"code{i}"])
    workbook.save(good)
    bad = tmp_path / "bad.xlsx"
    with zipfile.ZipFile(good) as source, zipfile.ZipFile(bad, "w") as target:
        for item in source.infolist():
            data = source.read(item.filename)
            if item.filename == "xl/worksheets/sheet1.xml":
                data = data.replace(b"</row>", b"</rowx>", 30)
            target.writestr(item, data)
    with pytest.raises(FileUnreadable), open_sheet(bad) as sheet:
        list(sheet.rows)


def test_an_id_beyond_its_column_is_no_such_record(app, client):
    """Most ids are int4: 2**31 in a URL is a 404, not PostgreSQL's "integer out of range" (500);
    reminder and mail ids are bigint, so a value past int4 still reaches their lookup."""
    user = make_user(role="admin")
    login(client, user)
    for url in ("/enterprises/2147483648", "/incubation/tenancies/2147483648",
                "/enterprises/9223372036854775808"):
        assert client.get(url).status_code == 404, url
    converters = {rule.rule: rule._converters for rule in app.url_map.iter_rules()}
    outbox = converters["/reminders/outbox/<bigint:message_id>"]["message_id"]
    assert outbox.to_python("2147483648") == 2147483648
