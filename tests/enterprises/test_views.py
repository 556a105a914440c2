"""Enterprise pages: scoping per role, search, pagination, editing and history."""

import re
from datetime import date

import pytest

from tests.conftest import count_queries, csrf_from, csrf_token, login
from tests.factories import make_carrier, make_enterprise, make_tenancy, make_user
from tracker.extensions import db


@pytest.fixture
def firms():
    """One firm in 高新区 (hitech), one in 经开区 (teda), one hosted by an incubator."""
    hitech = make_enterprise(name="天津海河智能科技有限公司", zone="hitech")
    teda = make_enterprise(name="天津泰达生物医药有限公司", zone="teda")
    carrier = make_carrier()
    tenant = make_enterprise(name="天津孵化企业有限公司", zone="bonded")
    make_tenancy(tenant, carrier)
    return {"hitech": hitech, "teda": teda, "tenant": tenant, "carrier": carrier}


@pytest.mark.parametrize(
    ("role", "visible"),
    [
        ("admin", {"hitech", "teda", "tenant"}),
        ("bureau", {"hitech", "teda", "tenant"}),
        ("viewer", {"hitech", "teda", "tenant"}),
        ("zone", {"hitech"}),
        ("carrier_manager", {"tenant"}),
    ],
)
def test_each_role_sees_only_its_scope(client, firms, role, visible):
    kwargs = {"carrier_id": firms["carrier"].id} if role == "carrier_manager" else {}
    login(client, make_user(role, **kwargs))
    listing = client.get("/enterprises/").get_data(as_text=True)
    for key in ("hitech", "teda", "tenant"):
        firm = firms[key]
        status = client.get(f"/enterprises/{firm.id}").status_code
        assert status == (200 if key in visible else 404), (role, key)
        assert (firm.name in listing) == (key in visible), (role, key)


def test_manager_of_another_carrier_gets_404(client, firms):
    other = make_carrier(name="另一孵化器")
    login(client, make_user("carrier_manager", carrier_id=other.id))
    assert client.get(f"/enterprises/{firms['tenant'].id}").status_code == 404


def test_viewer_cannot_edit(client, firms):
    login(client, make_user("viewer"))
    assert client.get(f"/enterprises/{firms['hitech'].id}/edit").status_code == 403
    assert client.get("/enterprises/new").status_code == 403


def test_zone_staff_cannot_edit_another_zone_by_url(client, firms):
    login(client, make_user("zone"))
    assert client.get(f"/enterprises/{firms['teda'].id}/edit").status_code == 404


def test_search_by_part_of_the_chinese_name_and_code_prefix(client, firms):
    login(client, make_user("bureau"))
    page = client.get("/enterprises/?q=海河智能").get_data(as_text=True)
    assert "天津海河智能科技有限公司" in page
    assert "天津泰达生物医药有限公司" not in page
    assert "共 1 家" in page, page[page.find("result-count"):][:100]
    prefix = firms["teda"].uscc[:17].lower()
    page = client.get(f"/enterprises/?uscc={prefix}").get_data(as_text=True)
    assert "天津泰达生物医药有限公司" in page
    assert "天津海河智能科技有限公司" not in page


def test_search_treats_like_wildcards_literally(client, firms):
    login(client, make_user("bureau"))
    assert "没有符合条件的企业" in client.get("/enterprises/?q=%25").get_data(as_text=True)


@pytest.mark.parametrize("sort", ["name", "-updated", "uscc", "-created"])
def test_keyset_pages_cover_every_row_once(client, sort):
    names = {make_enterprise(name=f"天津分页测试{i:02d}有限公司").name for i in range(23)}
    login(client, make_user("bureau"))
    seen, url = [], f"/enterprises/?q=分页测试&size=10&sort={sort}"
    for _ in range(5):
        html = client.get(url).get_data(as_text=True)
        seen += re.findall(r">(天津分页测试\d\d有限公司)</a>", html)
        next_links = re.findall(r'href="([^"]*(?:\?|&amp;)after=[^"]*)"', html)
        if not next_links:
            break
        url = next_links[0].replace("&amp;", "&")
    assert sorted(seen) == sorted(names)
    assert len(seen) == len(set(seen)) == 23


def test_list_query_count_does_not_grow_with_page_size(client):
    officer = make_user("bureau")
    for i in range(30):
        make_enterprise(name=f"天津计数{i:02d}有限公司", officer_id=officer.id)
    login(client, officer)
    counts = []
    for size in (5, 30):
        with count_queries() as statements:
            assert client.get(f"/enterprises/?size={size}").status_code == 200
        counts.append(len(statements))
    assert counts[0] == counts[1], counts


def _post_edit(client, firm, token, version, **changes):
    data = {"csrf_token": token, "version": str(version), "uscc": firm.uscc, "name": firm.name,
            "zone": firm.zone, "tech_field": firm.tech_field or "", "officer_id": "",
            "registered_in_tianjin": "1", "resident_enterprise": "1",
            "restricted_industry": "0", "integrity_record_clean": "1",
            "founded_on": firm.founded_on.isoformat() if firm.founded_on else ""}
    data.update(changes)
    return client.post(f"/enterprises/{firm.id}/edit", data=data)


def test_edit_is_shown_in_the_history(client, firms):
    firm = firms["hitech"]
    login(client, make_user("bureau"))
    token = csrf_token(client, f"/enterprises/{firm.id}/edit")
    response = _post_edit(client, firm, token, firm.version, name="天津海河智能科技股份有限公司")
    assert response.status_code == 302
    history = client.get(f"/enterprises/{firm.id}/history").get_data(as_text=True)
    assert "天津海河智能科技有限公司" in history and "天津海河智能科技股份有限公司" in history


def test_saving_over_a_newer_edit_is_refused_and_keeps_the_input(client, firms):
    firm = firms["hitech"]
    login(client, make_user("bureau"))
    token = csrf_token(client, f"/enterprises/{firm.id}/edit")
    opened = firm.version
    assert _post_edit(client, firm, token, opened, street="第一次修改").status_code == 302
    response = _post_edit(client, firm, token, opened, street="第二次修改")
    assert response.status_code == 409
    html = response.get_data(as_text=True)
    assert "已被他人修改" in html
    assert "第二次修改" in html  # what the user typed is still in the form
    db.session.refresh(firm)
    assert firm.street == "第一次修改"


def test_bad_code_gets_a_clear_message_and_nothing_is_saved(client, firms):
    firm = firms["hitech"]
    login(client, make_user("bureau"))
    token = csrf_token(client, f"/enterprises/{firm.id}/edit")
    response = _post_edit(client, firm, token, firm.version, uscc="91120116ABCDEFGH1")
    assert response.status_code == 400
    assert "18位" in response.get_data(as_text=True)
    db.session.refresh(firm)
    assert firm.uscc != "91120116ABCDEFGH1"


def test_create_through_the_form(client):
    login(client, make_user("bureau"))
    html = client.get("/enterprises/new").get_data(as_text=True)
    from tests.factories import valid_uscc

    code = valid_uscc()
    response = client.post("/enterprises/new", data={
        "csrf_token": csrf_from(html), "uscc": "　" + code.lower(), "name": "天津新登记有限公司",
        "zone": "ecocity", "tech_field": "", "officer_id": "", "founded_on": "2020-02-02",
        "registered_in_tianjin": "1", "resident_enterprise": "1", "restricted_industry": "0",
        "integrity_record_clean": "1"})
    assert response.status_code == 302, response.get_data(as_text=True)[:3000]
    detail = client.get(response.headers["Location"]).get_data(as_text=True)
    assert code in detail and "天津新登记有限公司" in detail


def test_archive_needs_confirmation_and_can_be_undone(client, firms):
    firm = firms["teda"]
    login(client, make_user("bureau"))
    page = client.get(f"/enterprises/{firm.id}/archive").get_data(as_text=True)
    assert "确认归档" in page
    response = client.post(f"/enterprises/{firm.id}/archive",
                           data={"csrf_token": csrf_from(page), "version": firm.version})
    assert response.status_code == 302
    assert firm.name not in client.get("/enterprises/").get_data(as_text=True)
    assert firm.name in client.get("/enterprises/?status=archived").get_data(as_text=True)


def test_contacts_metrics_and_tasks_through_the_page(client, firms):
    firm = firms["hitech"]
    user = make_user("bureau")
    login(client, user)
    token = csrf_token(client, f"/enterprises/{firm.id}")
    client.post(f"/enterprises/{firm.id}/contacts", data={
        "csrf_token": token, "contact-csrf_token": token, "contact-name": "张伟",
        "contact-email": "zhang@example.com", "contact-receives_reminders": "y",
        "contact-locale": "zh_CN"})
    client.post(f"/enterprises/{firm.id}/metrics/new", data={
        "csrf_token": token, "fiscal_year": "2025", "employees": "120", "tech_staff": "30",
        "revenue": "4500.5"})
    client.post(f"/enterprises/{firm.id}/activities", data={
        "activity-csrf_token": token, "activity-kind": "task", "activity-subject": "催报年报",
        "activity-due_on": date(2026, 5, 20).isoformat(), "activity-owner_id": str(user.id)})
    html = client.get(f"/enterprises/{firm.id}").get_data(as_text=True)
    assert "张伟" in html
    assert "4,500.50" in html  # 45,005,000 元 shown as 万元 with separators
    assert "催报年报" in html


def test_english_ui(client, firms):
    login(client, make_user("bureau"))
    token = csrf_token(client, "/enterprises/")
    client.post("/language/en", data={"csrf_token": token, "next": "/enterprises/"})
    html = client.get("/enterprises/").get_data(as_text=True)
    assert "Enterprises" in html
