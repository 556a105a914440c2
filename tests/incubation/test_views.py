"""Incubation pages: a carrier manager's scope on every route, the review flow, lists."""

import re
from datetime import date
from decimal import Decimal

import pytest
from sqlalchemy import func, select

from tests.conftest import count_queries, csrf_from
from tests.factories import make_enterprise, make_user
from tests.incubation.conftest import give_investment
from tracker.enterprises.models import AnnualMetrics
from tracker.extensions import db
from tracker.incubation import services
from tracker.incubation.models import StatusProposal, Tenancy


@pytest.fixture
def scoped(chain):
    """The chain plus a reporting cycle and one pending proposal per incubator tenant."""
    cycle = services.create_cycle({"name": "2025年第四季度", "period_start": date(2025, 10, 1),
                                   "period_end": date(2025, 12, 31),
                                   "due_on": date(2026, 1, 20)}, user=chain["bureau"])
    p_a = services.propose(chain["ten_a"], "exit", {"effective_on": date(2026, 5, 1),
                                                    "reason": "迁出"}, user=chain["manager_a"])
    p_b = services.propose(chain["ten_b"], "exit", {"effective_on": date(2026, 5, 1),
                                                    "reason": "迁出"}, user=chain["manager_b"])
    return {**chain, "cycle": cycle, "p_a": p_a, "p_b": p_b}


def _ids(s, side):
    """URL parameters for the manager's own side ("a") or another carrier's ("b")."""
    return {"carrier": s[side].id, "ten": s[f"ten_{side}"].id, "firm": s[f"firm_{side}"].id,
            "p": s[f"p_{side}"].id, "cycle": s["cycle"].id}


GET_ROUTES = [
    "/incubation/carriers/{carrier}",
    "/incubation/carriers/{carrier}/tenants.csv",
    "/incubation/tenancies/{ten}",
    "/incubation/tenancies/{ten}/edit",
    "/incubation/tenancies/{ten}/propose",
    "/incubation/proposals/{p}",
    "/incubation/reports/{cycle}/tenancies/{ten}",
    "/api/v1/incubation/carriers/{carrier}",
    "/api/v1/incubation/carriers/{carrier}/tenancies",
    "/api/v1/incubation/tenancies/{ten}",
    "/api/v1/incubation/tenancies/{ten}/proposals",
    "/api/v1/incubation/proposals/{p}",
    "/enterprises/{firm}",
    "/enterprises/{firm}/metrics/new",
]


@pytest.mark.parametrize("route", GET_ROUTES)
def test_manager_reads_own_tenant_but_not_another_carriers(as_user, scoped, route):
    client = as_user(scoped["manager_a"])
    assert client.get(route.format(**_ids(scoped, "a"))).status_code == 200
    assert client.get(route.format(**_ids(scoped, "b"))).status_code == 404


POST_ROUTES = [
    ("/incubation/tenancies/{ten}/edit",
     {"moved_in_on": "2024-01-31", "term_ends_on": "", "area_m2": "120", "version": "1"}, 302),
    ("/incubation/tenancies/{ten}/propose",
     {"action": "exit", "effective_on": "2026-05-01", "reason": "迁出"}, 400),  # one pending
    ("/incubation/reports/{cycle}/tenancies/{ten}", {"revenue": "12.5", "employees": "9"}, 302),
    ("/incubation/proposals/{p}/withdraw", {}, 302),
    ("/incubation/proposals/{p}", {"decision": "approve"}, 403),  # managers never decide
]


@pytest.mark.parametrize(("route", "data", "own_status"), POST_ROUTES)
def test_manager_writes_own_tenant_but_not_another_carriers(as_user, scoped, route, data,
                                                            own_status):
    client = as_user(scoped["manager_a"])
    token = csrf_from(client.get(f"/incubation/tenancies/{scoped['ten_a'].id}")
                      .get_data(as_text=True))
    other = client.post(route.format(**_ids(scoped, "b")), data={**data, "csrf_token": token})
    assert other.status_code == 404
    own = client.post(route.format(**_ids(scoped, "a")), data={**data, "csrf_token": token})
    assert own.status_code == own_status, own.get_data(as_text=True)[:1000]


@pytest.mark.parametrize("route", ["/incubation/carriers/{carrier}/edit",
                                   "/incubation/carriers/{carrier}/tenancies/new",
                                   "/incubation/carriers/new", "/incubation/reports/new"])
def test_manager_cannot_reach_bureau_pages(as_user, scoped, route):
    client = as_user(scoped["manager_a"])
    for side in ("a", "b"):
        assert client.get(route.format(**_ids(scoped, side))).status_code == 403


def test_lists_show_only_the_managers_carrier(as_user, scoped):
    client = as_user(scoped["manager_a"])
    carriers = client.get("/incubation/carriers").get_data(as_text=True)
    assert "甲孵化器" in carriers and "乙孵化器" not in carriers and "丙众创空间" not in carriers
    queue = client.get("/incubation/proposals").get_data(as_text=True)
    assert "天津甲在孵科技有限公司" in queue and "天津乙在孵科技有限公司" not in queue
    cycle = client.get(f"/incubation/reports/{scoped['cycle'].id}").get_data(as_text=True)
    assert "天津甲在孵科技有限公司" in cycle and "天津乙在孵科技有限公司" not in cycle
    export = client.get(f"/incubation/carriers/{scoped['a'].id}/tenants.csv?status=all")
    assert "天津甲在孵科技有限公司" in export.get_data(as_text=True)
    api = client.get("/api/v1/incubation/carriers").get_json()
    assert [c["name"] for c in api["items"]] == ["甲孵化器"]
    enterprises = client.get("/enterprises/").get_data(as_text=True)
    assert "天津甲在孵科技有限公司" in enterprises and "天津乙在孵科技有限公司" not in enterprises


def test_tenant_export_neutralises_formulas(as_user, scoped):
    firm = make_enterprise(name="=HYPERLINK(\"http://x\")科技有限公司",
                           founded_on=date(2024, 1, 1))
    services.open_tenancy(firm, scoped["a"], date(2025, 1, 1), area_m2=Decimal("120.5"))
    export = as_user(scoped["bureau"]).get(f"/incubation/carriers/{scoped['a'].id}/tenants.csv")
    assert export.mimetype == "text/csv"
    text = export.get_data(as_text=True)
    assert text.startswith("\ufeff企业名称,统一社会信用代码,入驻日期,孵化期满,状态,")
    line = next(row for row in text.splitlines() if "HYPERLINK" in row)
    assert line.startswith("\"'=HYPERLINK(")
    assert f",{firm.uscc},2025-01-01,2029-01-01,在孵,,,120.5" in line


def test_zone_staff_see_carriers_of_their_zone(as_user, scoped):
    client = as_user(make_user("zone", zone="hitech"))
    page = client.get("/incubation/carriers").get_data(as_text=True)
    assert "甲孵化器" in page and "丙众创空间" in page and "乙孵化器" not in page
    assert client.get(f"/incubation/carriers/{scoped['b'].id}").status_code == 404


def test_api_requires_login(client, scoped):
    response = client.get("/api/v1/incubation/carriers")
    assert response.status_code == 401
    assert response.get_json()["error"]["code"] == "unauthorized"


def test_newcomer_manager_proposes_and_bureau_approves_then_chain_advances(as_user, scoped):
    """The issue's 'done means': manager updates figures, proposes; bureau approves."""
    s = scoped
    services.withdraw(s["p_a"], user=s["manager_a"])
    newcomer = make_user("carrier_manager", carrier_id=s["a"].id, name="新来的经理")
    client = as_user(newcomer)
    carrier_page = client.get(f"/incubation/carriers/{s['a'].id}").get_data(as_text=True)
    assert "天津甲在孵科技有限公司" in carrier_page
    assert "天津乙在孵科技有限公司" not in carrier_page
    token = csrf_from(carrier_page)
    # Figures via the enterprise metrics page (already open to managers within scope).
    response = client.post(f"/enterprises/{s['firm_a'].id}/metrics/new", data={
        "csrf_token": token, "fiscal_year": "2025", "investment_raised": "620",
        "revenue": "300", "employees": "20"})
    assert response.status_code == 302, response.get_data(as_text=True)[:800]
    row = db.session.scalar(select(AnnualMetrics).where(
        AnnualMetrics.enterprise_id == s["firm_a"].id, AnnualMetrics.fiscal_year == 2025))
    assert row.investment_raised == Decimal(6_200_000)
    response = client.post(f"/incubation/tenancies/{s['ten_a'].id}/propose", data={
        "csrf_token": token, "action": "graduate", "effective_on": "2026-06-30",
        "graduation_basis": "investment", "evidence": "投资协议"})
    assert response.status_code == 302, response.get_data(as_text=True)[:1500]
    proposal = db.session.scalar(select(StatusProposal).where(
        StatusProposal.tenancy_id == s["ten_a"].id, StatusProposal.status == "pending"))
    assert s["ten_a"].status == "incubating"

    bureau = as_user(s["bureau"])
    queue = bureau.get("/incubation/proposals").get_data(as_text=True)
    assert "天津甲在孵科技有限公司" in queue and "毕业" in queue
    page = bureau.get(f"/incubation/proposals/{proposal.id}").get_data(as_text=True)
    response = bureau.post(f"/incubation/proposals/{proposal.id}", data={
        "csrf_token": csrf_from(page), "decision": "approve", "comment": "同意毕业",
        "version": proposal.version})
    assert response.status_code == 302
    db.session.refresh(s["ten_a"])
    assert s["ten_a"].status == "graduated"
    firm_page = bureau.get(f"/enterprises/{s['firm_a'].id}").get_data(as_text=True)
    chain_card = firm_page[firm_page.index('id="incubation-chain"'):]
    assert "已毕业" in chain_card[:3000]

    client = as_user(newcomer)
    decision = client.get(f"/incubation/proposals/{proposal.id}").get_data(as_text=True)
    assert "已批准" in decision and "同意毕业" in decision


def test_rejection_comment_is_shown_to_the_manager(as_user, scoped):
    bureau = as_user(scoped["bureau"])
    url = f"/incubation/proposals/{scoped['p_a'].id}"
    token = csrf_from(bureau.get(url).get_data(as_text=True))
    response = bureau.post(url, data={"csrf_token": token, "decision": "reject", "comment": "",
                                      "version": scoped["p_a"].version})
    assert response.status_code == 400
    assert "驳回时请填写意见" in response.get_data(as_text=True)
    response = bureau.post(url, data={"csrf_token": token, "decision": "reject",
                                      "comment": "请补充迁出证明",
                                      "version": scoped["p_a"].version})
    assert response.status_code == 302
    manager = as_user(scoped["manager_a"])
    page = manager.get(url).get_data(as_text=True)
    assert "已驳回" in page and "请补充迁出证明" in page
    assert scoped["ten_a"].status == "incubating"


def test_bureau_proposes_a_move_and_another_officer_approves(as_user, scoped):
    s = scoped
    services.withdraw(s["p_a"], user=s["manager_a"])
    give_investment(s["firm_a"], {2025: 6_000_000})
    bureau = as_user(s["bureau"])
    url = f"/incubation/tenancies/{s['ten_a'].id}/propose"
    token = csrf_from(bureau.get(url + "?action=move_on").get_data(as_text=True))
    response = bureau.post(url, data={
        "csrf_token": token, "action": "move_on", "effective_on": "2026-07-01",
        "graduation_basis": "investment", "next_carrier_id": str(s["park"].id)})
    assert response.status_code == 302, response.get_data(as_text=True)[:1500]
    proposal_url = response.headers["Location"]
    page = bureau.get(proposal_url).get_data(as_text=True)
    decision = {"decision": "approve", "next_carrier_id": str(s["park"].id),
                "next_moved_in_on": "2026-07-01"}
    mine = bureau.post(proposal_url, data={"csrf_token": csrf_from(page), **decision})
    assert mine.status_code == 403  # maker-checker: not the proposer
    checker = as_user(make_user("bureau"))
    page = checker.get(proposal_url).get_data(as_text=True)
    version = re.search(r'name="version"[^>]*value="(\d+)"', page).group(1)
    response = checker.post(proposal_url, data={"csrf_token": csrf_from(page), **decision,
                                                "version": version})
    assert response.status_code == 302
    bureau = as_user(s["bureau"])
    firm_page = bureau.get(f"/enterprises/{s['firm_a'].id}").get_data(as_text=True)
    chain_card = firm_page[firm_page.index('id="incubation-chain"'):][:4000]
    assert chain_card.index("甲孵化器") < chain_card.index("丁科技园")
    assert "已转入下一载体" in chain_card


def test_carrier_page_shows_criteria_or_their_absence(as_user, scoped):
    bureau = as_user(scoped["bureau"])
    national = bureau.get(f"/incubation/carriers/{scoped['a'].id}").get_data(as_text=True)
    assert "在孵企业不少于50家" in national and "第九条(六)" in national and "未达到" in national
    none = bureau.get(f"/incubation/carriers/{scoped['b'].id}").get_data(as_text=True)
    assert "暂无已确认的量化条件" in none


def test_bureau_opens_a_tenancy_with_warnings_and_term_override(as_user, scoped):
    firm = make_enterprise(name="天津老企业科技有限公司", founded_on=date(2015, 1, 1))
    bureau = as_user(scoped["bureau"])
    url = f"/incubation/carriers/{scoped['a'].id}/tenancies/new"
    token = csrf_from(bureau.get(url).get_data(as_text=True))
    response = bureau.post(url, data={"csrf_token": token, "uscc": firm.uscc.lower(),
                                      "moved_in_on": "2025-01-31", "term_ends_on": "2030-01-31"})
    assert response.status_code == 400
    assert "期限调整原因" in response.get_data(as_text=True) or "请填写原因" in \
        response.get_data(as_text=True)
    response = bureau.post(url, data={"csrf_token": token, "uscc": firm.uscc,
                                      "moved_in_on": "2025-01-31"}, follow_redirects=True)
    page = response.get_data(as_text=True)
    assert "超过24个月" in page and "2029-01-31" in page


def test_dashboard_card_is_scoped(as_user, scoped):
    page = as_user(scoped["manager_a"]).get("/").get_data(as_text=True)
    card = page[page.index("孵化载体在孵企业"):][:1500]
    assert "在孵企业" in card and "90天内孵化期满" in card


@pytest.mark.parametrize("url", ["/incubation/carriers", "/incubation/carriers/{a}",
                                 "/incubation/proposals?status=all", "/incubation/reports/{c}"])
def test_list_query_count_does_not_grow_with_page_size(as_user, scoped, url):
    for _i in range(12):
        firm = make_enterprise(founded_on=date(2024, 1, 1))
        tenancy = services.open_tenancy(firm, scoped["a"], date(2025, 1, 1))
        services.propose(tenancy, "exit", {"effective_on": date(2026, 5, 1), "reason": "x"},
                         user=scoped["bureau"])
    url = url.format(a=scoped["a"].id, c=scoped["cycle"].id)
    client = as_user(scoped["bureau"])
    sep = "&" if "?" in url else "?"
    client.get(url + f"{sep}size=2")
    with count_queries() as small:
        assert client.get(url + f"{sep}size=2").status_code == 200
    with count_queries() as large:
        assert client.get(url + f"{sep}size=12").status_code == 200
    assert len(large) == len(small)


def test_cycle_list_query_count_does_not_grow_with_page_size(as_user, scoped):
    for quarter in range(1, 7):
        services.create_cycle({"name": f"2024年第{quarter}期", "period_start": date(2024, 1, 1),
                               "period_end": date(2024, quarter, 28),
                               "due_on": date(2024, 12, 31)}, user=scoped["bureau"])
    client = as_user(scoped["bureau"])
    client.get("/incubation/reports?size=2")
    with count_queries() as small:
        assert client.get("/incubation/reports?size=2").status_code == 200
    with count_queries() as large:
        assert client.get("/incubation/reports?size=7").status_code == 200
    assert len(large) == len(small)


def test_carrier_page_in_english(as_user, scoped):
    client = as_user(scoped["bureau"])
    url = f"/incubation/carriers/{scoped['a'].id}"
    token = csrf_from(client.get(url).get_data(as_text=True))
    client.post("/language/en", data={"csrf_token": token, "next": url})
    html = client.get(url).get_data(as_text=True)
    assert "Recognition criteria check" in html and "At least 50 tenants" in html
    assert "Incubator" in html and "Tenants per 1,000 m²" in html


def test_manager_reports_figures_in_wan_and_late_list_for_chasing(as_user, scoped):
    from tracker.clock import frozen

    client = as_user(scoped["manager_a"])
    url = f"/incubation/reports/{scoped['cycle'].id}/tenancies/{scoped['ten_a'].id}"
    token = csrf_from(client.get(url).get_data(as_text=True))
    response = client.post(url, data={"csrf_token": token, "revenue": "-1"})
    assert response.status_code == 400
    response = client.post(url, data={"csrf_token": token, "revenue": "123.45",
                                      "employees": "17", "investment_raised": "80"})
    assert response.status_code == 302
    row = db.session.scalar(select(AnnualMetrics).where(
        AnnualMetrics.enterprise_id == scoped["firm_a"].id, AnnualMetrics.fiscal_year == 2025))
    assert (row.revenue, row.employees, row.investment_raised, row.source) == (
        Decimal("1234500.00"), 17, Decimal("800000.00"), "tenant_report")
    with frozen(date(2026, 2, 1)):  # after the 2026-01-20 due date
        bureau = as_user(scoped["bureau"])
        late = bureau.get(f"/incubation/reports/{scoped['cycle'].id}?late=1").get_data(
            as_text=True)
    assert "天津乙在孵科技有限公司" in late and "天津丙创客科技有限公司" in late
    assert "天津甲在孵科技有限公司" not in late


def test_stale_tenancy_edit_is_refused(as_user, scoped):
    client = as_user(scoped["manager_a"])
    url = f"/incubation/tenancies/{scoped['ten_a'].id}/edit"
    token = csrf_from(client.get(url).get_data(as_text=True))
    old_version = scoped["ten_a"].version
    services.update_tenancy(scoped["ten_a"], {"area_m2": Decimal(50)}, expected_version=None)
    db.session.commit()
    response = client.post(url, data={"csrf_token": token, "version": str(old_version),
                                      "moved_in_on": "2024-01-31", "area_m2": "80"})
    assert response.status_code == 409
    assert scoped["ten_a"].area_m2 == Decimal(50)


def test_edit_forms_carry_the_current_version(as_user, scoped):
    services.update_tenancy(scoped["ten_a"], {"area_m2": Decimal(50)}, expected_version=None)
    services.save_carrier({"address": "新地址"}, scoped["a"])
    cycle = scoped["cycle"]
    for employees in (10, 11):
        report = services.submit_report(cycle, scoped["ten_a"], {"employees": employees},
                                        user=scoped["bureau"])
    db.session.commit()
    assert scoped["ten_a"].version > 1 and scoped["a"].version > 1 and report.version > 1
    client = as_user(scoped["bureau"])
    for url, row in ((f"/incubation/tenancies/{scoped['ten_a'].id}/edit", scoped["ten_a"]),
                     (f"/incubation/carriers/{scoped['a'].id}/edit", scoped["a"]),
                     (f"/incubation/reports/{cycle.id}/tenancies/{scoped['ten_a'].id}", report)):
        html = client.get(url).get_data(as_text=True)
        assert f'name="version" type="hidden" value="{row.version}"' in html


def test_bureau_registers_and_edits_a_carrier(as_user, scoped):
    bureau = as_user(scoped["bureau"])
    token = csrf_from(bureau.get("/incubation/carriers/new").get_data(as_text=True))
    response = bureau.post("/incubation/carriers/new", data={
        "csrf_token": token, "name": "甲孵化器", "kind": "incubator", "scheme": "none",
        "default_term_months": "48"})
    assert response.status_code == 400 and "已有同名载体" in response.get_data(as_text=True)
    response = bureau.post("/incubation/carriers/new", data={
        "csrf_token": token, "name": "戊大学科技园", "kind": "university_park",
        "scheme": "none", "zone": "ecocity", "area_m2": "20000", "default_term_months": ""})
    assert response.status_code == 302
    page = bureau.get(response.headers["Location"]).get_data(as_text=True)
    assert "戊大学科技园" in page and "默认孵化期限 48 个月" in page
    assert "暂无已确认的量化条件" in page


def test_every_incubation_route_is_in_the_scope_tables(app):
    """A new route must join GET_ROUTES / POST_ROUTES (or the list and bureau-only tests)."""
    adapter = app.url_map.bind("tracker.test")
    ids = {"carrier": 1, "ten": 1, "firm": 1, "p": 1, "cycle": 1}
    covered = {adapter.match(r.format(**ids), method="GET")[0] for r in GET_ROUTES}
    covered |= {adapter.match(r.format(**ids), method="POST")[0] for r, _d, _s in POST_ROUTES}
    covered |= {"incubation.carriers", "incubation.proposals", "incubation.cycles",
                "incubation.cycle", "incubation_api.carriers",  # lists: scoped-list tests
                "incubation.carrier_edit", "incubation.tenancy_new", "incubation.carrier_new",
                "incubation.cycle_new",  # bureau-only: 403 for managers
                # the API's lists and token writes: scope and stale writes in tests/api/
                "incubation_api.tenancies", "incubation_api.cycles", "incubation_api.reports",
                "incubation_api.report_submit", "incubation_api.propose",
                "incubation_api.tenancy_update"}
    endpoints = {r.endpoint for r in app.url_map.iter_rules()
                 if r.endpoint.split(".")[0] in ("incubation", "incubation_api")}
    assert endpoints - covered == set()


def test_the_form_refuses_a_second_carrier_and_points_to_move_on(as_user, scoped):
    """Registering a firm at B while it incubates at A: refused on the page, nothing stored."""
    bureau = as_user(scoped["bureau"])
    url = f"/incubation/carriers/{scoped['b'].id}/tenancies/new"
    token = csrf_from(bureau.get(url).get_data(as_text=True))
    response = bureau.post(url, data={"csrf_token": token, "uscc": scoped["firm_a"].uscc,
                                      "moved_in_on": "2025-03-01"}, follow_redirects=True)
    page = response.get_data(as_text=True)
    assert "甲孵化器" in page and "转入下一载体" in page, page[page.find("<main"):][:1500]
    assert db.session.scalar(select(func.count(Tenancy.id)).where(
        Tenancy.enterprise_id == scoped["firm_a"].id)) == 1
