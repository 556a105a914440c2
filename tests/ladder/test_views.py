"""Ladder pages: board scoping and query counts, applications, evidence, gap report, settings."""

from __future__ import annotations

import html
import io
import re
from datetime import date

import pytest
from sqlalchemy import select

from tests.conftest import count_queries, csrf_from, login
from tests.factories import make_enterprise, make_user
from tests.ladder.conftest import make_firm
from tracker.audit.models import AuditEvent
from tracker.enterprises.models import Enterprise
from tracker.extensions import db
from tracker.ladder import services
from tracker.ladder.models import Application, LocalThreshold

PDF = b"%PDF-1.7\n% certificate\n"


def _token(client, url="/ladder/board"):
    return csrf_from(client.get(url).get_data(as_text=True))


@pytest.fixture
def zones(day):
    """An HNTE candidate in 高新区 and one in 经开区, plus a non-candidate in 高新区."""
    hitech = make_firm(name="天津海河智能科技有限公司", zone="hitech")
    teda = make_firm(name="天津泰达生物医药有限公司", zone="teda")
    weak = make_firm(name="天津高新弱小科技有限公司", zone="hitech",
                     year_changes={y: {"tech_staff": 5, "rd_expense": 100_000,
                                       "rd_expense_domestic": 100_000}
                                   for y in (2023, 2024, 2025)})
    db.session.commit()
    return {"hitech": hitech, "teda": teda, "weak": weak}


def _logout(client):
    client.post("/logout", data={"csrf_token": _token(client, "/")})


def _ids(text, attr="data-enterprise"):
    return {int(i) for i in re.findall(rf'{attr}="(\d+)"', text)}


def test_zone_staff_see_only_their_zone_on_every_board_view(client, zones):
    login(client, make_user("zone", zone="hitech"))
    visible = {zones["hitech"].id, zones["weak"].id}
    for view in ("rungs", "candidates", "near"):
        text = client.get(f"/ladder/board?view={view}").get_data(as_text=True)
        assert zones["teda"].id not in _ids(text), view
        assert _ids(text) <= visible
    rungs = client.get("/ladder/board").get_data(as_text=True)
    assert _ids(rungs) == visible
    assert re.search(r'data-rung="none".*?class="badge text-bg-secondary count">2<', rungs, re.S)


def test_hnte_candidates_of_this_year_in_the_zone(client, zones):
    login(client, make_user("zone", zone="hitech"))
    text = client.get("/ladder/board?view=candidates&kind=hnte").get_data(as_text=True)
    assert _ids(text) == {zones["hitech"].id}
    assert "待专家评审" in text
    _logout(client)
    login(client, make_user("bureau"))
    text = client.get("/ladder/board?view=candidates&kind=hnte&zone=teda").get_data(as_text=True)
    assert _ids(text) == {zones["teda"].id}


def test_near_misses_show_the_gap(client, day):
    near = make_firm(name="天津差一点科技有限公司",
                     year_changes={2025: {"high_tech_income": 24_000_000}})
    db.session.commit()
    login(client, make_user("bureau"))
    text = client.get("/ladder/board?view=near&kind=hnte").get_data(as_text=True)
    assert _ids(text) == {near.id}
    assert "高新技术产品（服务）收入还需增加" in text


def _firms(n, zone="hitech"):
    for _ in range(n):
        make_firm(zone=zone, years=(2025,))


@pytest.mark.parametrize("view", ["rungs", "candidates", "applications"])
def test_board_query_count_does_not_grow_with_cards(client, day, view):
    user = make_user("bureau")
    _firms(2)
    db.session.commit()
    login(client, user)

    def measure():
        client.get("/")  # the commit expired the logged-in user; reload it outside the count
        with count_queries() as statements:
            assert client.get(f"/ladder/board?view={view}").status_code == 200
        return len(statements)

    few = measure()
    _firms(8)
    officer = make_user("bureau")
    for firm in db.session.scalars(select(Enterprise)):
        firm.officer_id = officer.id
        services.create_application(firm, {"kind": "hnte", "year": 2026, "owner_id": officer.id})
    db.session.commit()
    assert measure() == few


def test_board_filters_by_officer_and_field(client, day):
    officer = make_user("bureau", name="孙专员")
    mine = make_firm(officer_id=officer.id, tech_field="biomedicine")
    other = make_firm()
    db.session.commit()
    login(client, make_user("bureau"))
    assert _ids(client.get(f"/ladder/board?officer_id={officer.id}").get_data(as_text=True)) \
        == {mine.id}
    assert _ids(client.get("/ladder/board?tech_field=biomedicine").get_data(as_text=True)) \
        == {mine.id}
    assert other.id in _ids(client.get("/ladder/board").get_data(as_text=True))


def test_done_means_board_to_rung_change(client, zones):
    """Open the board, find the HNTE candidate, read criteria, apply, approve, see the rung."""
    firm = zones["hitech"]
    login(client, make_user("zone", zone="hitech"))
    board = client.get("/ladder/board?view=candidates&kind=hnte").get_data(as_text=True)
    assert f"/enterprises/{firm.id}" in board
    gaps = client.get(f"/ladder/enterprises/{firm.id}/gaps").get_data(as_text=True)
    assert 'data-code="tech_staff_ratio" data-status="pass"' in gaps
    assert 'data-code="innovation_score" data-status="unknown"' in gaps
    assert "需专家评价" in gaps

    token = _token(client, f"/ladder/enterprises/{firm.id}/applications/new")
    response = client.post(f"/ladder/enterprises/{firm.id}/applications/new", data={
        "csrf_token": token, "kind": "hnte", "year": "2026", "batch": "2026年第一批",
        "owner_id": "", "deadline": "2026-07-31", "notes": ""})
    assert response.status_code == 302, response.get_data(as_text=True)[:1000]
    app = db.session.scalar(select(Application).where(Application.enterprise_id == firm.id))
    for status in ("preparing", "submitted"):
        response = client.post(f"/ladder/applications/{app.id}/move", data={
            "csrf_token": token, "to_status": status, "version": app.version})
        assert response.status_code == 302
        db.session.refresh(app)
        assert app.status == status
    board = client.get("/ladder/board?view=applications").get_data(as_text=True)
    assert re.search(rf'data-status="submitted".*?data-application="{app.id}"', board, re.S)
    response = client.post(f"/ladder/applications/{app.id}/approve", data={
        "csrf_token": token, "version": app.version, "number": "GR202612000042",
        "granted_on": "2026-06-28", "valid_until": ""})
    assert response.status_code == 302
    db.session.refresh(firm)
    assert firm.current_rung == "hnte"
    page = client.get(f"/enterprises/{firm.id}").get_data(as_text=True)
    assert "GR202612000042" in page and "2029-06-27" in page
    history = re.search(r'id="ladder-history">(.*?)</ul>', page, re.S).group(1)
    assert "国家高新技术企业" in history and "停留" in history
    events = db.session.scalars(select(AuditEvent.action).where(
        AuditEvent.entity_type == "application", AuditEvent.entity_id == app.id)
        .order_by(AuditEvent.id)).all()
    assert events == ["create", "update", "update", "approve"]
    gaps = client.get(f"/ladder/enterprises/{firm.id}/gaps").get_data(as_text=True)
    assert re.search(r'data-kind="hnte".*?已持有', gaps, re.S)


def test_moving_a_card_refuses_a_skipped_step_and_stale_versions(client, day):
    firm = make_firm()
    app = services.create_application(firm, {"kind": "hnte", "year": 2026})
    db.session.commit()
    login(client, make_user("bureau"))
    token = _token(client)
    client.post(f"/ladder/applications/{app.id}/move", data={
        "csrf_token": token, "to_status": "submitted", "version": app.version})
    db.session.refresh(app)
    assert app.status == "planned"
    response = client.post(f"/ladder/applications/{app.id}/move", data={
        "csrf_token": token, "to_status": "preparing", "version": app.version + 5},
        follow_redirects=True)
    assert "已被他人修改" in response.get_data(as_text=True)


def test_applications_out_of_scope_are_404(client, zones):
    app = services.create_application(zones["teda"], {"kind": "hnte", "year": 2026})
    db.session.commit()
    login(client, make_user("zone", zone="hitech"))
    token = _token(client)
    assert client.post(f"/ladder/applications/{app.id}/move", data={
        "csrf_token": token, "to_status": "preparing", "version": app.version}).status_code == 404
    assert client.get(f"/ladder/applications/{app.id}/approve").status_code == 404
    assert client.get(f"/ladder/enterprises/{zones['teda'].id}/gaps").status_code == 404


def test_viewer_cannot_change_the_ladder(client, zones):
    app = services.create_application(zones["hitech"], {"kind": "hnte", "year": 2026})
    db.session.commit()
    login(client, make_user("viewer"))
    firm = zones["hitech"]
    assert client.get(f"/ladder/enterprises/{firm.id}/qualifications/new").status_code == 403
    assert client.post(f"/ladder/applications/{app.id}/move",
                       data={"to_status": "preparing"}).status_code in (400, 403)
    assert client.get("/ladder/board").status_code == 200


def test_qualification_with_evidence_served_only_in_scope(client, zones, upload_dir):
    firm = zones["hitech"]
    login(client, make_user("zone", zone="hitech"))
    url = f"/ladder/enterprises/{firm.id}/qualifications/new"
    response = client.post(url, data={
        "csrf_token": _token(client, url), "kind": "hnte", "number": "GR202311004043",
        "granted_on": "2023-12-08", "valid_until": "", "batch": "2023年第一批",
        "evidence_note": "2023年第一批认定名单",
        "evidence": (io.BytesIO(PDF), "高企证书.pdf")}, content_type="multipart/form-data",
        follow_redirects=True)
    text = response.get_data(as_text=True)
    assert response.status_code == 200
    assert "省份代码为11" in text  # a Beijing number: warned, still saved
    q = services.qualifications_of(firm.id)[0]
    assert q.evidence_name == "高企证书.pdf" and q.valid_until == date(2026, 12, 7)
    download = client.get(f"/ladder/qualifications/{q.id}/evidence")
    assert download.status_code == 200 and download.data == PDF
    assert download.mimetype == "application/pdf"

    _logout(client)
    login(client, make_user("zone", zone="teda"))
    assert client.get(f"/ladder/qualifications/{q.id}/evidence").status_code == 404
    assert client.get(f"/ladder/qualifications/{q.id}/edit").status_code == 404
    _logout(client)
    assert client.get(f"/ladder/qualifications/{q.id}/evidence").status_code == 302  # login


def test_upload_of_a_disguised_file_is_refused(client, zones, upload_dir):
    firm = zones["hitech"]
    login(client, make_user("bureau"))
    url = f"/ladder/enterprises/{firm.id}/qualifications/new"
    response = client.post(url, data={
        "csrf_token": _token(client, url), "kind": "hnte", "number": "GR202312000001",
        "granted_on": "2023-12-08", "evidence": (io.BytesIO(b"MZ\x90\x00"), "cert.pdf")},
        content_type="multipart/form-data")
    assert response.status_code == 400
    assert "内容与扩展名不符" in response.get_data(as_text=True)
    assert services.qualifications_of(firm.id) == []  # all or nothing


def test_revoke_through_the_page(client, zones):
    firm = zones["hitech"]
    q = services.grant_qualification(firm, "hnte", "GR202412000001", date(2024, 11, 1))
    db.session.commit()
    login(client, make_user("bureau"))
    url = f"/ladder/qualifications/{q.id}/revoke"
    page = client.get(url).get_data(as_text=True)
    assert "确认撤销" in page
    response = client.post(url, data={"csrf_token": csrf_from(page), "version": q.version,
                                      "revoked_on": "2026-06-01", "reason": ""})
    assert response.status_code == 400 and "请填写撤销原因" in response.get_data(as_text=True)
    response = client.post(url, data={"csrf_token": csrf_from(page), "version": q.version,
                                      "revoked_on": "2026-06-01", "reason": "弄虚作假"})
    assert response.status_code == 302
    db.session.refresh(firm)
    assert firm.current_rung is None


def test_gap_report_lists_unmet_criteria_in_plain_chinese(client, zones):
    login(client, make_user("bureau"))
    text = client.get(f"/ladder/enterprises/{zones['weak'].id}/gaps").get_data(as_text=True)
    summary = re.search(r'id="gap-summary">(.*?)</table>', text, re.S).group(1)
    assert 'data-kind="hnte" data-verdict="ineligible"' in summary
    assert "还需增加" in summary and "名科技人员" in summary
    assert "打印" in text


def test_gap_report_reads_the_qualifications_once(client, zones):
    login(client, make_user("bureau"))
    client.get("/ladder/board")  # log-in and first-request work out of the way
    with count_queries() as statements:
        page = client.get(f"/ladder/enterprises/{zones['weak'].id}/gaps")
    assert page.status_code == 200
    reads = [s for s in statements if re.search(r"FROM qualifications\b", s)]
    assert len(reads) == 1, reads


def test_self_assessment_prefills_from_a_firm_in_scope(client, zones):
    login(client, make_user("zone", zone="hitech"))
    page = client.get(f"/ladder/self-assessment?enterprise_id={zones['hitech'].id}")
    text = page.get_data(as_text=True)
    assert 'name="y1-revenue"' in text and 'value="4000' in text
    assert 'class="card mb-3 result" data-kind="hnte" data-verdict="needs_review"' in text
    assert client.get(f"/ladder/self-assessment?enterprise_id={zones['teda'].id}") \
        .status_code == 404


def test_admin_sets_local_thresholds_on_the_page(client, day):
    admin = make_user("admin")
    login(client, admin)
    page = client.get("/ladder/admin/thresholds").get_data(as_text=True)
    assert "本地配置" in page
    token = csrf_from(page)
    response = client.post("/ladder/admin/thresholds", data={
        "kind": "dengling", "dengling-csrf_token": token, "dengling-min_revenue": "5000",
        "dengling-min_revenue_cagr_pct": "20", "dengling-source": "局务会纪要"})
    assert response.status_code == 302, response.get_data(as_text=True)[:2000]
    row = db.session.scalar(select(LocalThreshold).where(LocalThreshold.kind == "dengling"))
    assert row.values == {"min_revenue": 50_000_000, "min_revenue_cagr_pct": 20,
                          "source": "局务会纪要"}
    assert services.local_thresholds()["dengling"]["min_revenue"] == 50_000_000
    page = client.get("/ladder/admin/thresholds").get_data(as_text=True)
    assert 'value="5000' in page

    response = client.post("/ladder/admin/thresholds", data={
        "kind": "batch", "batch-csrf_token": token, "batch-kind": "dengling",
        "batch-batch": "2025年第二批", "batch-valid_until": "2026-12-31"})
    assert response.status_code == 302


def test_only_admins_reach_the_threshold_page(client):
    login(client, make_user("bureau"))
    assert client.get("/ladder/admin/thresholds").status_code == 403


def test_enterprise_page_shows_the_ladder_panel(client, zones):
    firm = zones["hitech"]
    services.grant_qualification(firm, "tech_sme", "2026120116A00001", date(2026, 6, 1))
    db.session.commit()
    login(client, make_user("bureau"))
    text = client.get(f"/enterprises/{firm.id}").get_data(as_text=True)
    assert 'id="ladder"' in text and "科技型中小企业" in text
    assert "6月1日及以后提交自评" in text  # the 11th character explained
    assert 'data-kind="hnte" data-verdict="needs_review"' in text
    assert f"/ladder/enterprises/{firm.id}/gaps" in text


def test_board_in_english(client, zones):
    login(client, make_user("bureau"))
    client.post("/language/en", data={"csrf_token": _token(client), "next": "/ladder/board"})
    text = client.get("/ladder/board").get_data(as_text=True)
    assert "Growth ladder board" in text and "Not on the ladder" in text


def test_dashboard_card_counts_in_scope(client, zones):
    services.create_application(zones["hitech"], {"kind": "hnte", "year": 2026})
    services.create_application(zones["teda"], {"kind": "hnte", "year": 2026})
    db.session.commit()
    login(client, make_user("zone", zone="hitech"))
    text = client.get("/").get_data(as_text=True)
    card = re.search(r'id="ladder-card">(.*?)</table>', text, re.S).group(1)
    assert re.search(r'data-status="planned"><td>[^<]+</td><td class="num">1<', card)
    assert re.search(r'data-candidates="hnte"><td>[^<]+</td><td class="num">1<', card)


def test_dashboard_card_counts_the_candidates_the_board_lists(client, zones):
    """A firm on a rung is no candidate for the rungs below it, on the card as on the board."""
    services.grant_qualification(zones["hitech"], "hnte", "GR202312000273", date(2023, 12, 8))
    db.session.commit()
    login(client, make_user("zone", zone="hitech"))
    card = re.search(r'id="ladder-card">(.*?)</table>',
                     client.get("/").get_data(as_text=True), re.S).group(1)
    for kind in ("tech_sme", "hnte"):
        board = client.get(f"/ladder/board?view=candidates&kind={kind}").get_data(as_text=True)
        listed = len(_ids(board))
        shown = re.search(rf'data-candidates="{kind}"><td>[^<]+</td><td class="num">(\d+)<', card)
        assert (int(shown.group(1)) if shown else 0) == listed, kind


def test_edit_qualification_page_and_stale_version(client, zones):
    firm = zones["hitech"]
    q = services.grant_qualification(firm, "hnte", "GR202312000273", date(2023, 12, 8))
    db.session.commit()
    login(client, make_user("bureau"))
    url = f"/ladder/qualifications/{q.id}/edit"
    page = client.get(url).get_data(as_text=True)
    data = {"csrf_token": csrf_from(page), "version": q.version, "number": "GR202312000274",
            "granted_on": "2023-12-08", "valid_until": "", "batch": "2023年第二批"}
    assert client.post(url, data=data).status_code == 302
    db.session.refresh(q)
    assert (q.number, q.batch, q.valid_until) == ("GR202312000274", "2023年第二批",
                                                  date(2026, 12, 7))
    response = client.post(url, data={**data, "number": "GR202312000275"})  # old version
    assert response.status_code == 409
    db.session.refresh(q)
    assert q.number == "GR202312000274"


def test_candidates_are_paged_with_keyset_cursors(client, day):
    names = [f"天津分页{i}科技有限公司" for i in range(5)]
    firms = {make_firm(name=n, years=(2023, 2024, 2025)).id for n in names}
    db.session.commit()
    login(client, make_user("bureau"))
    seen, url = [], "/ladder/board?view=candidates&kind=hnte&size=2"
    while url:
        text = client.get(url).get_data(as_text=True)
        seen += [int(i) for i in re.findall(r'<tr data-enterprise="(\d+)"', text)]
        match = re.search(r'href="([^"]*after=[^"]+)"', text)
        url = html.unescape(match.group(1)) if match else None
    assert sorted(seen) == sorted(firms) and len(seen) == 5


def test_edit_application_details(client, zones):
    owner = make_user("bureau", name="周专员")
    app = services.create_application(zones["hitech"], {"kind": "hnte", "year": 2026})
    db.session.commit()
    login(client, make_user("zone", zone="hitech"))
    url = f"/ladder/applications/{app.id}/edit"
    page = client.get(url).get_data(as_text=True)
    response = client.post(url, data={"csrf_token": csrf_from(page), "version": app.version,
                                      "batch": "2026年第二批", "owner_id": str(owner.id),
                                      "deadline": "2026-09-30", "notes": "已约谈财务"})
    assert response.status_code == 302
    db.session.refresh(app)
    assert (app.batch, app.owner_id, app.deadline, app.status) == (
        "2026年第二批", owner.id, date(2026, 9, 30), "planned")
    event = db.session.scalar(select(AuditEvent).where(
        AuditEvent.entity_type == "application", AuditEvent.action == "update"))
    assert event.changes["deadline"] == [None, "2026-09-30"]


def test_board_next_steps_read_the_stored_summaries(zones):
    """The board's next step per card comes from the stored results' summary columns (read as
    plain rows, not entities): a firm meeting HNTE is its candidate, a weak one is
    not told the same, one without figures is told its data is missing."""
    from tracker.ladder import queries

    empty = make_enterprise()
    db.session.commit()
    steps = queries.next_steps([zones["hitech"], zones["weak"], empty])
    assert steps[zones["hitech"].id]["tone"] == "success"
    assert steps[zones["hitech"].id]["text"].startswith("可申报")
    assert steps[zones["weak"].id]["text"] != steps[zones["hitech"].id]["text"]
    assert steps[empty.id] == {"text": "科技型中小企业：数据不全", "tone": "secondary"}
