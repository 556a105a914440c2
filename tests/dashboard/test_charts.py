"""The dashboard's charts: month-end counts and their back-fill, the funnel, the zone matrix,
incubation and workload figures, each against a hand-counted world and in each role's scope;
every figure's link opens a list of exactly that many rows; the .xlsx exports.
"""

from __future__ import annotations

import io
import re
from datetime import date

import openpyxl
import pytest
from sqlalchemy import func, select

from tests.conftest import login
from tests.factories import make_carrier, make_enterprise, make_tenancy, make_user
from tracker.clock import frozen
from tracker.dashboard import charts, history, tasks
from tracker.dashboard.models import MonthlyCount
from tracker.extensions import db
from tracker.incubation import services as incubation
from tracker.ladder import services as ladder
from tracker.ladder.models import Qualification

DAY = date(2026, 12, 1)


@pytest.fixture
def world():
    """Six firms with a hand-written ladder and tenancy history (clock frozen on DAY).

    A hitech: tech-SME 2024-03-10 (to 2024-12-31), HNTE 2025-02-01; tenant of K since 2024-01-15
    B teda:   tech-SME 2024-05-01 (to 2024-12-31), HNTE 2026-06-01; tenant of M 2023-06-01,
              graduated 2025-12-31 (so a graduate that later became HNTE)
    C hitech: tech-SME 2025-04-01 (to 2025-12-31); tenant of K 2024-06-01, graduated 2025-06-30
    E teda:   HNTE 2023-01-10 (to 2025-12-31), tech-SME 2024-02-01 (to 2024-12-31)
    F hitech: HNTE 2024-03-01 (to 2027-02-28)
    G hitech: archived, HNTE 2024-01-01 (never counted: archived firms leave every figure)
    """
    with frozen(DAY):
        firms = {name: make_enterprise(zone=zone, name=f"图表测试{name}有限公司",
                                       tech_field=field)
                 for name, zone, field in (
                     ("A", "hitech", "electronic_information"), ("B", "teda", "biomedicine"),
                     ("C", "hitech", "electronic_information"), ("E", "teda", "new_materials"),
                     ("F", "hitech", "new_materials"), ("G", "hitech", "new_materials"))}
        k = make_carrier(name="图表测试孵化器K", kind="incubator", zone="hitech", area_m2=1000)
        m = make_carrier(name="图表测试众创空间M", kind="maker_space", zone="teda", area_m2=500)

        def grant(name, kind, granted, until, number=None):
            ladder.grant_qualification(firms[name], kind, number, granted, until)

        grant("E", "hnte", date(2023, 1, 10), date(2025, 12, 31), "GR202312000001")
        grant("E", "tech_sme", date(2024, 2, 1), date(2024, 12, 31), "202412011600001")
        grant("F", "hnte", date(2024, 3, 1), date(2027, 2, 28), "GR202412000002")
        grant("A", "tech_sme", date(2024, 3, 10), date(2024, 12, 31), "202412011600002")
        grant("B", "tech_sme", date(2024, 5, 1), date(2024, 12, 31), "202412011600003")
        grant("A", "hnte", date(2025, 2, 1), date(2028, 1, 31), "GR202512000003")
        grant("C", "tech_sme", date(2025, 4, 1), date(2025, 12, 31), "202512011600004")
        grant("B", "hnte", date(2026, 6, 1), date(2029, 5, 31), "GR202612000004")
        grant("G", "hnte", date(2024, 1, 1), date(2026, 12, 31), "GR202412000005")
        firms["G"].status = "archived"

        incubation.open_tenancy(firms["B"], m, date(2023, 6, 1), area_m2=100)
        incubation.open_tenancy(firms["A"], k, date(2024, 1, 15), area_m2=250)
        incubation.open_tenancy(firms["C"], k, date(2024, 6, 1), area_m2=50)
        for name, carrier, ended in (("B", m, date(2025, 12, 31)), ("C", k, date(2025, 6, 30))):
            tenancy = next(t for t in firms[name].tenancies if t.carrier_id == carrier.id)
            incubation.close_tenancy(tenancy, "graduate", ended, graduation_basis="investment",
                                     evidence="演示", official_list=True)
        ladder.create_application(firms["A"], {"kind": "dengling", "year": 2026})
        application = ladder.create_application(firms["B"], {"kind": "leader", "year": 2026})
        ladder.move_application(application, "preparing")
        db.session.flush()
        yield {"firms": firms, "K": k, "M": m}


def _cells(month: date, measure: str) -> dict[tuple[str, str], int]:
    rows = db.session.execute(
        select(MonthlyCount.key, MonthlyCount.zone, func.sum(MonthlyCount.count))
        .where(MonthlyCount.month == month, MonthlyCount.measure == measure)
        .group_by(MonthlyCount.key, MonthlyCount.zone))
    return {(key, zone): n for key, zone, n in rows}


def test_backfill_counts_each_month_end_from_the_history(world):
    with frozen(DAY):
        written = history.backfill()
    assert written[0] == date(2023, 1, 31) and written[-1] == date(2026, 11, 30)
    assert len(written) == 47
    assert _cells(date(2023, 5, 31), "rung") == {("hnte", "teda"): 1}
    assert _cells(date(2024, 3, 31), "rung") == {
        ("tech_sme", "hitech"): 1, ("hnte", "hitech"): 1, ("hnte", "teda"): 1}
    assert _cells(date(2024, 5, 31), "rung") == {
        ("tech_sme", "hitech"): 1, ("tech_sme", "teda"): 1, ("hnte", "hitech"): 1,
        ("hnte", "teda"): 1}
    # tech-SME registrations lapse with their year: A and B are on no rung in January
    assert _cells(date(2025, 1, 31), "rung") == {("hnte", "hitech"): 1, ("hnte", "teda"): 1}
    assert _cells(date(2025, 4, 30), "rung") == {
        ("hnte", "hitech"): 2, ("tech_sme", "hitech"): 1, ("hnte", "teda"): 1}
    assert _cells(date(2026, 1, 31), "rung") == {("hnte", "hitech"): 2}
    assert _cells(date(2026, 6, 30), "rung") == {("hnte", "hitech"): 2, ("hnte", "teda"): 1}
    assert _cells(date(2024, 1, 31), "carrier_kind") == {
        ("incubator", "hitech"): 1, ("maker_space", "teda"): 1}
    assert _cells(date(2024, 6, 30), "carrier_kind") == {
        ("incubator", "hitech"): 2, ("maker_space", "teda"): 1}
    # C graduated on 2025-06-30: not a tenant at the end of that day's month any more
    assert _cells(date(2025, 6, 30), "carrier_kind") == {
        ("incubator", "hitech"): 1, ("maker_space", "teda"): 1}
    assert _cells(date(2026, 1, 31), "carrier_kind") == {("incubator", "hitech"): 1}
    carriers = set(db.session.scalars(select(MonthlyCount.carrier_id).where(
        MonthlyCount.measure == "carrier_kind").distinct()))
    assert carriers == {world["K"].id, world["M"].id}


def test_month_end_job_is_idempotent(world):
    with frozen(DAY):
        assert tasks.record_month_ends() == 47
        first = db.session.scalar(select(func.count(MonthlyCount.id)))
        assert tasks.record_month_ends() == 0
        history.write_month(date(2026, 6, 30))  # rewriting one month replaces it
    assert db.session.scalar(select(func.count(MonthlyCount.id))) == first
    per_month = db.session.execute(
        select(MonthlyCount.month, MonthlyCount.measure, MonthlyCount.key, MonthlyCount.zone,
               MonthlyCount.carrier_id, func.count())
        .group_by(MonthlyCount.month, MonthlyCount.measure, MonthlyCount.key,
                  MonthlyCount.zone, MonthlyCount.carrier_id)
        .having(func.count() > 1)).all()
    assert per_month == []
    assert len(history.stored_months()) == 47


def _trend(panels, panel_id):
    panel = next(p for p in panels if p["id"] == panel_id)
    return panel["categories"], {s["name"]: s["values"] for s in panel["series"]}


def test_trends_per_scope(world, app):
    bureau, zone = make_user("bureau"), make_user("zone", zone="hitech")
    manager = make_user("carrier_manager", carrier_id=world["K"].id)
    with frozen(DAY), app.test_request_context("/"):
        history.backfill()
        for_bureau = charts.payload("trends", bureau)
        for_zone = charts.payload("trends", zone)
        for_manager = charts.payload("trends", manager)
    months, rungs = _trend(for_bureau, "trend-rung")
    assert months[-1] == "2026-12-01"  # today's live point
    june = months.index("2026-06")
    assert rungs["国家高新技术企业"][june] == 3
    assert rungs["国家高新技术企业"][-1] == 3  # A, B, F today
    assert _trend(for_zone, "trend-rung")[1]["国家高新技术企业"][june] == 2
    assert _trend(for_zone, "trend-carrier_kind")[1] == {"科技企业孵化器": [
        *(v for v in _trend(for_bureau, "trend-carrier_kind")[1]["科技企业孵化器"])]}
    assert "众创空间" in _trend(for_bureau, "trend-carrier_kind")[1]
    # a carrier manager: the tenant counts of their own carrier, no rung trend
    assert [p["id"] for p in for_manager] == ["trend-carrier_kind"]
    assert list(_trend(for_manager, "trend-carrier_kind")[1]) == ["科技企业孵化器"]


def _stored_months_written(world):
    """Month-ends stored by the beat job, committed (the pipeline runs on the commit)."""
    with frozen(DAY):
        db.session.commit()  # the world's own history: no month stored yet, nothing to redo
        history.backfill()
        db.session.commit()


@pytest.fixture
def inline_years(app, monkeypatch):
    """Every month a backdated change reaches is rewritten inside its commit."""
    monkeypatch.setitem(app.config, "MONTH_REDO_INLINE_MONTHS", 120)


def test_a_backdated_grant_moves_the_past_month_ends(world, app, inline_years):
    """issue 14: a title recorded today but granted in a past month changes that month's
    point at once (the trend chart read the month-end rows frozen until a --rebuild)."""
    _stored_months_written(world)
    june = date(2025, 6, 30)
    assert _cells(june, "rung") == {("hnte", "hitech"): 2, ("tech_sme", "hitech"): 1,
                                    ("hnte", "teda"): 1}
    before_may = _cells(date(2025, 4, 30), "rung")
    teda = {month: _cells(month, "rung").get(("hnte", "teda")) for month in
            history.stored_months()}
    with frozen(DAY):
        ladder.grant_qualification(world["firms"]["C"], "hnte", "GR202512000009",
                                   date(2025, 5, 20), date(2028, 5, 19))
        db.session.commit()
    # C (hitech) is an HNTE from May 2025 on: every month-end since counts it
    assert _cells(june, "rung") == {("hnte", "hitech"): 3, ("hnte", "teda"): 1}
    assert _cells(date(2026, 11, 30), "rung")[("hnte", "hitech")] == 3
    assert _cells(date(2025, 4, 30), "rung") == before_may  # before the grant: as it was
    assert {month: _cells(month, "rung").get(("hnte", "teda"))  # another zone: untouched
            for month in history.stored_months()} == teda
    with frozen(DAY), app.test_request_context("/"):
        months, rungs = _trend(charts.payload("trends", make_user("zone", zone="hitech")),
                               "trend-rung")
    assert rungs["国家高新技术企业"][months.index("2025-06")] == 3


def test_a_backdated_tenancy_close_and_revocation_move_the_past_month_ends(world, inline_years):
    _stored_months_written(world)
    firms = world["firms"]
    assert _cells(date(2025, 6, 30), "carrier_kind") == {
        ("incubator", "hitech"): 1, ("maker_space", "teda"): 1}
    with frozen(DAY):
        tenancy = next(t for t in firms["A"].tenancies if t.status == "incubating")
        incubation.close_tenancy(tenancy, "exit", date(2025, 3, 31), reason="迁出")
        db.session.commit()
    assert _cells(date(2025, 6, 30), "carrier_kind") == {("maker_space", "teda"): 1}
    assert _cells(date(2025, 3, 31), "carrier_kind")[("incubator", "hitech")] == 1
    with frozen(DAY):
        qualification = db.session.scalar(select(Qualification).where(
            Qualification.enterprise_id == firms["F"].id, Qualification.kind == "hnte"))
        ladder.revoke_qualification(qualification, date(2025, 12, 15), reason="撤销")
        db.session.commit()
    assert _cells(date(2025, 12, 31), "rung")[("hnte", "hitech")] == 1
    assert _cells(date(2025, 11, 30), "rung")[("hnte", "hitech")] == 2
    # what the pipeline rewrote is what a full rebuild from the history writes
    kept = _all_cells()
    with frozen(DAY):
        history.backfill(rebuild=True)
    assert _all_cells() == kept


def test_a_recent_backdate_is_rewritten_in_the_commit_an_old_one_by_a_worker(world, app):
    """Default limit: a few months inside the commit; years back are pending until the worker
    (or the next beat run) has replayed them."""
    _stored_months_written(world)
    with frozen(DAY):
        ladder.grant_qualification(world["firms"]["C"], "hnte", "GR202612000010",
                                   date(2026, 10, 10), date(2029, 10, 9))
        db.session.commit()
    assert _cells(date(2026, 10, 31), "rung")[("hnte", "hitech")] == 3  # two months: inline
    assert _cells(date(2026, 9, 30), "rung")[("hnte", "hitech")] == 2
    with frozen(DAY):
        tenancy = next(t for t in world["firms"]["A"].tenancies if t.status == "incubating")
        incubation.close_tenancy(tenancy, "exit", date(2025, 3, 31), reason="迁出")
        db.session.commit()
    assert _cells(date(2025, 6, 30), "carrier_kind")[("incubator", "hitech")] == 1  # pending
    with frozen(DAY), app.test_request_context("/"):
        panels = charts.payload("trends", make_user("zone", zone="hitech"))
    assert {p["pending_from"] for p in panels} == {"2025-03"}
    with frozen(DAY):
        assert tasks.record_month_ends() == 0  # the beat run: nothing missing, marks rewritten
    assert _cells(date(2025, 6, 30), "carrier_kind") == {("maker_space", "teda"): 1}


def test_a_bulk_backdated_change_is_pending_on_the_chart_until_a_worker_rewrites(world, app,
                                                                             monkeypatch):
    """A commit above the inline limit (an import) only marks the zone; the chart says so."""
    from tracker import changes

    _stored_months_written(world)
    monkeypatch.setitem(app.config, changes.LIMIT_KEY, 1)
    with frozen(DAY):
        ladder.grant_qualification(world["firms"]["C"], "hnte", "GR202512000009",
                                   date(2025, 5, 20), date(2028, 5, 19))
        world["firms"]["A"].address = "滨海新区测试路1号"  # a second firm: over the limit
        db.session.commit()
    assert _cells(date(2025, 6, 30), "rung")[("hnte", "hitech")] == 2  # not rewritten yet
    with frozen(DAY), app.test_request_context("/"):
        hitech = charts.payload("trends", make_user("zone", zone="hitech"))
        teda = charts.payload("trends", make_user("zone", zone="teda"))
    assert {p["pending_from"] for p in hitech} == {"2025-05"}
    assert "2025-05 起的月末数因补录的变更正在重算" in hitech[0]["note"]
    assert {p["pending_from"] for p in teda} == {None}  # another zone's months are right
    with frozen(DAY):
        assert tasks.rebuild_marked_months() == 19  # 2025-05 … 2026-11, what the worker runs
    assert _cells(date(2025, 6, 30), "rung")[("hnte", "hitech")] == 3
    with frozen(DAY), app.test_request_context("/"):
        assert {p["pending_from"] for p in charts.payload("trends", make_user("bureau"))} \
            == {None}


def _all_cells() -> set[tuple]:
    return set(db.session.execute(select(
        MonthlyCount.month, MonthlyCount.measure, MonthlyCount.key, MonthlyCount.zone,
        MonthlyCount.carrier_id, MonthlyCount.count)).all())


def test_funnel_and_median_stays(world, app):
    with frozen(DAY), app.test_request_context("/"):
        bureau = charts.payload("funnel", make_user("bureau"))
        zone = charts.payload("funnel", make_user("zone", zone="hitech"))
    years, cohort = _trend(bureau, "funnel-cohorts")
    assert years == ["2024", "2025"]
    # 2024: A, B, E registered; A became HNTE within a year, B within three; E held HNTE
    # already and got no new one after registering
    assert [cohort[name][0] for name in cohort] == [3, 1, 1, 2]
    assert [cohort[name][1] for name in cohort] == [1, 0, 0, 0]
    _years, zone_cohort = _trend(zone, "funnel-cohorts")
    assert [zone_cohort[name][0] for name in zone_cohort] == [1, 1, 1, 1]
    rungs, stays = _trend(bureau, "funnel-stays")
    # finished tech-SME stays: A 2024-03-10→2025-01-01, B 2024-05-01→2025-01-01,
    # C 2025-04-01→2026-01-01; the finished HNTE stay: E 2023-01-10→2026-01-01
    tech_sme = sorted([(date(2025, 1, 1) - date(2024, 3, 10)).days,
                       (date(2025, 1, 1) - date(2024, 5, 1)).days,
                       (date(2026, 1, 1) - date(2025, 4, 1)).days])
    assert rungs == ["科技型中小企业（3次）", "国家高新技术企业（1次）"]
    assert stays == {"中位数（天）": [tech_sme[1], (date(2026, 1, 1) - date(2023, 1, 10)).days]}


def test_the_carrier_charts_show_the_busiest_carriers_when_there_are_many(app):
    """A province has thousands of carriers: a bar each is unreadable and the payload grows
    with the register. The charts keep the carriers with the most tenants in incubation (in
    name order) and say how many there are in all."""
    with frozen(DAY):
        carriers = [make_carrier(name=f"载体{i:02d}") for i in range(charts.CHART_CARRIERS + 3)]
        busiest = carriers[-charts.CHART_CARRIERS:]
        for carrier in busiest:
            make_tenancy(make_enterprise(), carrier, date(2025, 1, 1))
        make_tenancy(make_enterprise(), busiest[0], date(2025, 2, 1))
        db.session.flush()
        with app.test_request_context("/"):
            panels = charts.payload("incubation", make_user("bureau"))
    for panel_id in ("incubation-tenants", "incubation-rates"):
        names, _series = _trend(panels, panel_id)
        assert names == [c.name for c in busiest], panel_id
        note = next(p for p in panels if p["id"] == panel_id)["note"]
        assert f"{charts.CHART_CARRIERS}" in note and f"{len(carriers)}" in note, note
    incubating = _trend(panels, "incubation-tenants")[1]["在孵"]
    assert incubating == [2] + [1] * (charts.CHART_CARRIERS - 1)


def test_zone_matrix_incubation_and_workload(world, app):
    with frozen(DAY), app.test_request_context("/"):
        bureau = make_user("bureau")
        zones = charts.payload("zones", bureau)
        incubation_panels = charts.payload("incubation", bureau)
        zone_incubation = charts.payload("incubation", make_user("zone", zone="teda"))
        workload = charts.payload("workload", bureau)
        zone_workload = charts.payload("workload", make_user("zone", zone="teda"))
    names, matrix = _trend(zones, "zones-rung")
    assert names == ["经开区", "高新区"]
    assert matrix == {"国家高新技术企业": [1, 2], "未入库": [1, 1]}
    fields, by_field = _trend(zones, "fields-rung")
    assert fields == ["电子信息", "生物与新医药", "新材料"]
    assert by_field == {"国家高新技术企业": [1, 1, 1], "未入库": [1, 0, 1]}
    carriers, counts = _trend(incubation_panels, "incubation-tenants")
    assert carriers == ["图表测试众创空间M", "图表测试孵化器K"]
    assert counts == {"在孵": [0, 1], "已毕业": [1, 1], "毕业后认定为高企": [1, 0]}
    _c, rates = _trend(incubation_panels, "incubation-rates")
    assert rates == {"场地使用率 %": [0.0, 25.0], "毕业率 %（毕业 / 已结束）": [100.0, 100.0]}
    # a teda officer sees the teda carrier only, with the teda firms' stays
    assert _trend(zone_incubation, "incubation-tenants") == (
        ["图表测试众创空间M"], {"在孵": [0], "已毕业": [1], "毕业后认定为高企": [1]})
    months, expiring = _trend(workload, "workload-expiring")
    assert months[0] == "2026-12" and len(months) == 12
    assert expiring["到期企业"][months.index("2027-02")] == 1  # F's certificate
    assert sum(expiring["到期企业"]) == 1
    assert _trend(workload, "workload-applications") == (
        ["计划申报", "准备材料"], {"企业": [1, 1]})
    assert _trend(zone_workload, "workload-applications") == (["准备材料"], {"企业": [1]})
    assert sum(_trend(zone_workload, "workload-expiring")[1]["到期企业"]) == 0


_COUNTS = (re.compile(r'id="result-count">共 ([\d,]+)'),
           re.compile(r'id="tenant-count">共 ([\d,]+)'),
           re.compile(r"逾期未报 (\d+)"))


def _listed(client, url: str) -> int:
    html = client.get(url).get_data(as_text=True)
    if url.startswith("/reminders/"):
        status = re.search(r"status=(\w+)", url).group(1)
        match = re.search(rf'status={status}"[^>]*>[^<]*?([\d,]+)</a>', html)
    else:
        match = next((m for p in _COUNTS if (m := p.search(html))), None)
    assert match, f"no count on {url}"
    return int(match.group(1).replace(",", ""))


@pytest.mark.parametrize("role", ["bureau", "zone", "carrier_manager"])
def test_every_figure_opens_a_list_of_that_many(world, client, role):
    """Each value with a link: the list behind it shows exactly that count, in every scope."""
    extra = {"zone": "hitech"} if role == "zone" else (
        {"carrier_id": world["K"].id} if role == "carrier_manager" else {})
    user = make_user(role, **extra)
    with frozen(DAY):
        history.backfill()
        login(client, user)
        checked = 0
        for name in charts.CHARTS:
            for panel in client.get(f"/dashboard/charts/{name}.json").get_json()["panels"]:
                if panel["unit"] == "%":
                    continue  # a rate links to the list of its numerator
                for series in panel["series"]:
                    for value, url in zip(series["values"], series["urls"], strict=True):
                        if url and (value or checked % 7 == 0):
                            assert _listed(client, url) == value, (panel["id"], series["name"],
                                                                   url)
                            checked += 1
    assert checked > 10


def test_chart_export_holds_the_chart_figures(world, client):
    login(client, make_user("bureau"))
    with frozen(DAY):
        response = client.get("/dashboard/charts/funnel.xlsx")
    assert response.status_code == 200
    book = openpyxl.load_workbook(io.BytesIO(response.data))
    sheet = book["科技型中小企业 → 国家高新技术企业"]
    rows = [list(r) for r in sheet.iter_rows(values_only=True)]
    assert rows[0] == ["项目", "当年登记科技型中小企业", "1年内成为高企", "2年内成为高企",
                       "3年内成为高企"]
    assert rows[1:] == [["2024", 3, 1, 1, 2], ["2025", 1, 0, 0, 0]]
    assert client.get("/dashboard/charts/nothing.xlsx").status_code == 404
    assert client.get("/dashboard/charts/nothing.json").status_code == 404


def _leadership_trend_rows(client) -> list[tuple]:
    """The 月度趋势 sheet of the leadership workbook, as the bureau downloads it on DAY."""
    login(client, make_user("bureau"))
    with frozen(DAY):
        history.backfill()
        response = client.get("/imports/export/report.xlsx")
    book = openpyxl.load_workbook(io.BytesIO(response.data))
    title = next(t for t in book.sheetnames if t.startswith("月度趋势"))
    return list(book[title].iter_rows(values_only=True))


def test_leadership_workbook_has_the_trend_sheet(world, client):
    rows = _leadership_trend_rows(client)
    assert rows[0][:2] == ("月末", "科技型中小企业")
    june = next(r for r in rows[1:] if r[0].date() == date(2026, 6, 30))
    assert june[rows[0].index("国家高新技术企业")] == 3
    assert june[rows[0].index("在孵：科技企业孵化器")] == 1


def test_dashboard_page_loads_the_charts_from_static_files(client):
    login(client, make_user("viewer"))
    html = client.get("/").get_data(as_text=True)
    assert "vendor/echarts/echarts.min.js" in html and "dashboard.js" in html
    assert 'data-chart-url="/dashboard/charts/trends.json"' in html
    assert "<script>" not in html


def test_backfill_command(world, app):
    runner = app.test_cli_runner()
    with frozen(DAY):
        first = runner.invoke(args=["dashboard", "backfill-snapshots", "--until", "2024-12"])
        again = runner.invoke(args=["dashboard", "backfill-snapshots"])
        rebuilt = runner.invoke(args=["dashboard", "backfill-snapshots", "--rebuild"])
    assert first.exit_code == 0 and "wrote 24 months: 2023-01 … 2024-12" in first.output
    assert "wrote 23 months: 2025-01 … 2026-11" in again.output
    assert "wrote 47 months" in rebuilt.output
    assert _cells(date(2024, 3, 31), "rung")[("tech_sme", "hitech")] == 1


def test_chart_queries_do_not_grow_with_the_register(world, client):
    """Every chart is a fixed number of aggregates, never a loop over firms."""
    from tests.conftest import count_queries

    login(client, make_user("bureau"))

    def counted() -> dict[str, int]:
        out = {}
        for name in charts.CHARTS:
            with count_queries() as statements:
                assert client.get(f"/dashboard/charts/{name}.json").status_code == 200
            out[name] = len(statements)
        return out

    with frozen(DAY):
        history.backfill()
        before = counted()
        for n in range(6):
            firm = make_enterprise(zone="ecocity", tech_field="aerospace")
            ladder.grant_qualification(firm, "tech_sme", f"20241201160{n:04d}",
                                       date(2024, 4, 1), date(2024, 12, 31))
            incubation.open_tenancy(firm, world["K"], date(2024, 2, 1))
        db.session.flush()
        assert counted() == before


def _codes() -> set[str]:
    """Every stored code a chart could show instead of its label."""
    from tracker.incubation.models import CARRIER_KINDS, TENANCY_STATUSES
    from tracker.ladder.models import APPLICATION_STATUSES
    from tracker.reminders.models import STATUSES
    from tracker.vocabulary import KINDS, TECH_FIELDS, ZONES

    return {*KINDS, *TECH_FIELDS, *ZONES, *CARRIER_KINDS, *TENANCY_STATUSES,
            *APPLICATION_STATUSES, *STATUSES, "leader_any", "none"}


def _shown(panel: dict) -> list[str]:
    return [panel["title"], panel["unit"], panel["note"], *panel["categories"],
            *(s["name"] for s in panel["series"])]


@pytest.mark.parametrize("role", ["bureau", "zone"])
@pytest.mark.parametrize("name", list(charts.CHARTS))
def test_every_chart_exports_its_figures_as_xlsx_with_labels_not_codes(world, client, name,
                                                                        role):
    """issue 14: each chart's data as .xlsx (the same numbers as drawn), and no raw code in
    what the chart or its workbook shows (titles, categories, series, notes, cells)."""
    user = make_user("zone", zone="hitech") if role == "zone" else make_user("bureau")
    login(client, user)
    with frozen(DAY):
        history.backfill()
        panels = client.get(f"/dashboard/charts/{name}.json").get_json()["panels"]
        response = client.get(f"/dashboard/charts/{name}.xlsx")
    assert response.status_code == 200 and panels
    codes = _codes()
    for panel in panels:
        shown = _shown(panel)
        assert not codes & set(shown), (panel["id"], codes & set(shown))
    book = openpyxl.load_workbook(io.BytesIO(response.data))
    assert len(book.sheetnames) == len(panels)
    for panel, title in zip(panels, book.sheetnames, strict=True):
        assert panel["title"].startswith(title) or title.startswith(panel["title"][:20])
        rows = [list(r) for r in book[title].iter_rows(values_only=True)]
        assert rows[0][1:] == [s["name"] for s in panel["series"]]
        assert [r[0] for r in rows[1:]] == panel["categories"]
        for i, series in enumerate(panel["series"], start=1):
            assert [r[i] for r in rows[1:]] == series["values"], (panel["id"], series["name"])
        cells = {c for r in rows for c in r if isinstance(c, str)}
        assert not codes & cells, (panel["id"], codes & cells)


def test_the_leadership_trend_sheet_shows_labels_not_codes(world, client):
    cells = {c for r in _leadership_trend_rows(client) for c in r if isinstance(c, str)}
    assert cells and not _codes() & cells


def test_a_zone_move_keeps_past_month_ends_in_the_zone_of_the_time(world, app, inline_years):
    """A month-end is a snapshot: a firm that moves zone today stays counted in its old zone
    for the months before, also when those months are rewritten (a backdated change to the
    firm, or a full rebuild); from the move on it counts in its new zone."""
    _stored_months_written(world)
    june = date(2025, 6, 30)
    before = {month: _cells(month, "rung") for month in history.stored_months()}
    assert before[june][("hnte", "hitech")] == 2  # A and F
    with frozen(DAY):
        world["firms"]["F"].zone = "teda"
        db.session.commit()
        # a backdated change to the moved firm rewrites its months
        ladder.grant_qualification(world["firms"]["F"], "chuying", None, date(2025, 5, 20),
                                   date(2027, 5, 19))
        db.session.commit()
    assert {month: _cells(month, "rung") for month in history.stored_months()} == before
    with frozen(DAY):
        history.backfill(rebuild=True)
        db.session.commit()
    assert {month: _cells(month, "rung") for month in history.stored_months()} == before
    with frozen(date(2027, 1, 2)):  # December's month-end, written after the move
        history.backfill()
        db.session.commit()
    december = _cells(date(2026, 12, 31), "rung")
    assert december[("hnte", "hitech")] == 1 and december[("hnte", "teda")] == 2
