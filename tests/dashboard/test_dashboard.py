"""Dashboard figures: scoped counts and progress against the plan targets."""

from datetime import date

from tests.conftest import csrf_token, login
from tests.factories import make_carrier, make_enterprise, make_user
from tracker.clock import frozen
from tracker.dashboard import queries, targets
from tracker.extensions import db
from tracker.indicators.seed import seed_plan
from tracker.ladder.models import Qualification


def _grant(enterprise, kind, granted, until=None, revoked=None):
    db.session.add(Qualification(enterprise_id=enterprise.id, kind=kind, granted_on=granted,
                                 valid_until=until, revoked_on=revoked))
    db.session.flush()


def test_holders_count_only_valid_qualifications_in_scope():
    hitech, teda = make_enterprise(zone="hitech"), make_enterprise(zone="teda")
    _grant(hitech, "hnte", date(2024, 1, 1), date(2026, 12, 31))
    _grant(teda, "hnte", date(2024, 1, 1), date(2026, 12, 31))
    expired = make_enterprise(zone="hitech")
    _grant(expired, "hnte", date(2020, 1, 1), date(2022, 12, 31))
    revoked = make_enterprise(zone="hitech")
    _grant(revoked, "hnte", date(2024, 1, 1), date(2026, 12, 31), revoked=date(2025, 6, 1))
    both = make_enterprise(zone="hitech")
    _grant(both, "leader", date(2024, 1, 1))
    _grant(both, "leader_cultivation", date(2023, 1, 1))
    on = date(2026, 6, 30)
    bureau = queries.holders_by_kind(make_user("bureau"), on)
    assert bureau["hnte"] == 2
    assert bureau["leader_any"] == 1  # one firm, counted once
    assert queries.holders_by_kind(make_user("zone", zone="hitech"), on)["hnte"] == 1


def test_national_carriers_by_scheme():
    make_carrier(scheme="most_2018_national")
    make_carrier(scheme="miit_2025_standard")
    make_carrier(scheme="national_maker_space", kind="maker_space")
    make_carrier(scheme="district")
    counts = queries.national_carriers(make_user("bureau"))
    assert counts == {"national_incubator": 2, "national_maker_space": 1}


def test_plan_defaults_and_admin_override():
    lines = {line.metric: line for line in targets.targets_for(2025)}
    assert lines["hnte"].target == 5800  # 十四五规划 (domain.md §5.2)
    assert lines["hnte"].baseline == 3270  # 2020 baseline (domain.md §5.3)
    db.session.add(targets.Target(metric="hnte", year=2025, value=6000, source="调整文件"))
    db.session.flush()
    assert {line.metric: line for line in targets.targets_for(2025)}["hnte"].target == 6000
    assert targets.progress(2900, 5800) == 50.0
    assert targets.progress(7000, 5800) == 100.0


def test_dashboard_page_and_target_admin(client):
    seed_plan(db.session.connection())
    login(client, make_user("admin"))
    with frozen(date(2026, 12, 1)):
        html = client.get("/").get_data(as_text=True)
    # the current period's card, no longer a heading stuck on 十四五 (issue 14)
    assert "“十五五”规划指标（2026–2030年）" in html and "国家高新技术企业" in html
    assert "十四五”目标进度" not in html
    token = csrf_token(client, "/admin/targets")
    response = client.post("/admin/targets", data={"csrf_token": token, "metric": "chuying",
                                                   "year": "2026", "value": "2500",
                                                   "source": "2026年工作要点"})
    assert response.status_code == 302
    assert "2026年工作要点" in client.get("/admin/targets").get_data(as_text=True)


def test_only_admins_edit_targets(client):
    login(client, make_user("bureau"))
    assert client.get("/admin/targets").status_code == 403


def test_plan_progress_is_for_area_wide_roles_only(client):
    login(client, make_user("zone", zone="teda"))
    assert "目标进度" not in client.get("/").get_data(as_text=True)
