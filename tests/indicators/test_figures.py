"""Computed indicators against hand-counted fixtures, in each role's scope, and the report.

The fixture (hitech unless said otherwise), counted by hand:
  A  HNTE 2023-12-01 – 2026-11-30        valid on 2025-12-31, expired by 2026-12-01
  B  (teda) HNTE 2024-01-01 – 2027-12-31 valid on both days; tech-SME for 2026 only
  C  雏鹰 from 2022 and 瞪羚 from 2024      highest rung 瞪羚, still a holder of a valid 雏鹰 title
  D  科技领军 and 科技领军培育               one firm, counted once
  E  HNTE revoked 2025-06-01              never counted
  G  (teda) 科技领军培育 from 2026-03-01
Carriers: national incubators (MOST 2018, hitech) and (MIIT 2025 standard, teda), a national
maker space (hitech), a district incubator (hitech), an archived national incubator (hitech).
"""

from __future__ import annotations

from datetime import date
from decimal import Decimal

import pytest

from tests.conftest import count_queries
from tests.factories import make_carrier, make_enterprise, make_user
from tracker import clock
from tracker.extensions import db
from tracker.indicators import services
from tracker.indicators.status import Status
from tracker.ladder.models import Qualification

DAY = date(2026, 12, 1)


def _grant(firm, kind, granted, until=None, revoked=None):
    db.session.add(Qualification(enterprise_id=firm.id, kind=kind, granted_on=granted,
                                 valid_until=until, revoked_on=revoked))


@pytest.fixture
def register():
    """The firms and carriers of the module docstring."""
    a, b, c, d, e = (make_enterprise(zone=z) for z in ("hitech", "teda", "hitech", "hitech",
                                                       "hitech"))
    g = make_enterprise(zone="teda")
    _grant(a, "hnte", date(2023, 12, 1), date(2026, 11, 30))
    _grant(b, "hnte", date(2024, 1, 1), date(2027, 12, 31))
    _grant(b, "tech_sme", date(2026, 5, 1), date(2026, 12, 31))
    _grant(c, "chuying", date(2022, 1, 1))
    _grant(c, "dengling", date(2024, 6, 1))
    _grant(d, "leader", date(2024, 1, 1))
    _grant(d, "leader_cultivation", date(2023, 1, 1))
    _grant(e, "hnte", date(2024, 1, 1), date(2026, 12, 31), revoked=date(2025, 6, 1))
    _grant(g, "leader_cultivation", date(2026, 3, 1))
    make_carrier(scheme="most_2018_national", zone="hitech")
    make_carrier(scheme="miit_2025_standard", zone="teda")
    make_carrier(scheme="national_maker_space", kind="maker_space", zone="hitech")
    make_carrier(scheme="district", zone="hitech")
    make_carrier(scheme="most_2018_national", zone="hitech", archived=True)
    db.session.flush()


COMPUTED = ("hnte", "tech_sme", "chuying", "dengling", "leader_any", "national_incubator",
            "national_maker_space")


@pytest.mark.parametrize(("role", "on", "counts"), [
    ("bureau", date(2025, 12, 31), (2, 0, 1, 1, 1, 2, 1)),
    ("bureau", DAY, (1, 1, 1, 1, 2, 2, 1)),
    ("viewer", DAY, (1, 1, 1, 1, 2, 2, 1)),
    ("zone", DAY, (0, 0, 1, 1, 1, 1, 1)),  # hitech only
    ("zone", date(2025, 12, 31), (1, 0, 1, 1, 1, 1, 1)),
])
def test_computed_figures_by_hand(register, role, on, counts):
    user = make_user(role, zone="hitech") if role == "zone" else make_user(role)
    figures = services.computed_figures(user, on)
    assert tuple(figures[code] for code in COMPUTED) == counts


def test_the_closed_period_shows_final_figures_against_its_targets(register, plan):
    report = services.report(make_user("bureau"), plan.periods["14th"], DAY)
    assert report.closed and report.confirmed and report.measured_on == date(2025, 12, 31)
    lines = {line.code: line for line in report.lines}
    hnte = lines["hnte"]
    assert (hnte.actual, hnte.target, hnte.baseline, hnte.actual_year) == (
        Decimal(2), Decimal(5800), Decimal(3270), 2025)
    assert hnte.status == Status.BEHIND and hnte.met is False
    assert hnte.progress == Decimal("-129.2")  # fell below the 2020 baseline
    assert lines["tech_sme"].status == Status.NO_DATA  # the plan set no target
    assert lines["rd_intensity"].status == Status.NO_DATA  # not entered
    assert [group for group, _lines in report.groups()] == [
        "自主创新能力", "创新主体规模", "成果转化", "创新创业生态"]
    assert len(report.lines) == 18


def test_the_current_period_is_unconfirmed_until_its_source_is_recorded(plan):
    period = services.current_period(DAY)
    assert period.code == "15th"
    report = services.report(make_user("bureau"), period, DAY)
    assert not report.closed and not report.confirmed and report.measured_on == DAY
    assert all(line.target is None for line in report.lines)


def test_zone_staff_see_their_zone_without_district_targets(register, plan):
    zone = make_user("zone", zone="teda")
    report = services.report(zone, plan.periods["14th"], DAY)
    lines = {line.code: line for line in report.lines}
    assert not report.district_wide
    assert lines["hnte"].zone_scoped and lines["hnte"].actual == 1  # B only
    assert lines["hnte"].target is None and lines["hnte"].status == Status.NO_DATA
    # entered indicators are district-wide figures, with the district's target
    assert not lines["high_value_patents"].zone_scoped
    assert lines["high_value_patents"].target == Decimal(24)


def test_entered_figures_use_the_latest_year_within_the_period(plan):
    staff = make_user("bureau")
    period = plan.periods["14th"]
    rd = plan.indicators["rd_intensity"]
    services.save_value(rd, period, 2024, "3.40", "统计公报2024", actor_id=staff.id, day=DAY)
    services.save_value(rd, period, 2025, "3.60", "统计公报2025", actor_id=staff.id, day=DAY)
    services.save_value(plan.indicators["rd_centres"], period, 2023, "520", "年报",
                        actor_id=staff.id, day=DAY)
    lines = {line.code: line for line in services.report(staff, period, DAY).lines}
    assert (lines["rd_intensity"].actual, lines["rd_intensity"].actual_year,
            lines["rd_intensity"].source) == (Decimal("3.6"), 2025, "统计公报2025")
    centres = lines["rd_centres"]
    assert (centres.actual, centres.actual_year) == (Decimal(520), 2023)
    assert centres.status == Status.NO_DATA  # no baseline, target not met, period not over…
    assert services.report(staff, plan.periods["15th"], DAY).lines[0].actual is None


@pytest.mark.parametrize("counted_today", [True, False], ids=["today", "past-day"])
def test_the_report_costs_the_same_whatever_the_register_size(plan, counted_today):
    # The clock is frozen so the query count does not depend on the day the suite runs: only a
    # report counted on today's date asks whether the maintained dashboard figures are current.
    day = DAY if counted_today else date(2026, 6, 30)
    user = make_user("bureau")
    db.session.flush()
    with clock.frozen(DAY):
        with count_queries() as few:
            services.report(user, plan.periods["15th"], day)
        for _ in range(15):
            _grant(make_enterprise(), "hnte", date(2024, 1, 1), date(2027, 1, 1))
        make_carrier(scheme="most_2018_national")
        db.session.flush()
        with count_queries() as many:
            services.report(user, plan.periods["15th"], day)
    # titles, carriers, entered figures, targets, and (today only) whether the maintained
    # dashboard figures are current (they are not here: the titles are counted live)
    assert len(many) == len(few) == (5 if counted_today else 4)
