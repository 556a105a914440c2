"""Dashboard figures: scoped counts; the old target page now points at the indicators."""

from datetime import date

import pytest

from tests.conftest import login
from tests.factories import make_carrier, make_enterprise, make_user
from tracker.clock import frozen
from tracker.dashboard import queries
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


def test_dashboard_page_shows_the_current_periods_card(client):
    seed_plan(db.session.connection())
    login(client, make_user("admin"))
    with frozen(date(2026, 12, 1)):
        html = client.get("/").get_data(as_text=True)
    # the current period's card, no longer a heading stuck on 十四五 (issue 14)
    assert "“十五五”规划指标（2026–2030年）" in html and "国家高新技术企业" in html
    assert "十四五”目标进度" not in html


@pytest.mark.parametrize("role", ["admin", "bureau"])
def test_the_old_target_page_sends_bookmarks_to_the_indicators(client, role):
    """/admin/targets is gone with its table (issue 14); plan periods hold the targets now."""
    login(client, make_user(role))
    response = client.get("/admin/targets")
    assert response.status_code in (301, 302, 308)
    assert response.headers["Location"].endswith("/dashboard/indicators")


def test_plan_progress_is_for_area_wide_roles_only(client):
    login(client, make_user("zone", zone="teda"))
    assert "目标进度" not in client.get("/").get_data(as_text=True)
