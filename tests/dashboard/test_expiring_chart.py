"""The workload chart's "certificates expiring per month ahead" against a straightforward
count: for each month shown, the active firms in scope holding a title valid today (by the
titles' own status_on) whose validity ends inside that month. Titles sit on the edges
(today, month ends and starts, the window's last day and the day after), some firms hold
several titles in one month or across months, some titles are revoked or not yet in force."""

from __future__ import annotations

import random
from datetime import date, timedelta

import pytest
from sqlalchemy import select, text, update

from tests.factories import make_enterprise, make_user
from tracker.clock import frozen
from tracker.dashboard import charts, drilldown
from tracker.enterprises.models import Enterprise
from tracker.extensions import db
from tracker.ladder.models import Qualification

DAY = date(2026, 12, 2)


def _edges() -> list[date]:
    """Days a title's validity most likely gets miscounted on."""
    days = [DAY - timedelta(days=1), DAY, DAY + timedelta(days=1), date(2026, 12, 31),
            date(2027, 1, 1), date(2027, 2, 28), date(2027, 3, 1), date(2027, 11, 30),
            date(2027, 12, 1), date(2028, 6, 30)]
    return days


@pytest.fixture
def titles():
    """60 firms in two zones (a few archived) holding 0-3 titles each, seeded at random."""
    rng = random.Random(20261202)
    with frozen(DAY):
        firms = [make_enterprise(zone=rng.choice(["hitech", "teda"])) for _ in range(60)]
        db.session.flush()
        for firm in firms:
            for _ in range(rng.choice([0, 1, 1, 2, 3])):
                until = (rng.choice(_edges()) if rng.random() < 0.5
                         else DAY + timedelta(days=rng.randint(-40, 400)))
                granted = rng.choice([date(2024, 1, 1), DAY, DAY + timedelta(days=1)])
                revoked = rng.choice([None, None, None, DAY, DAY + timedelta(days=10),
                                      DAY - timedelta(days=5)])
                db.session.add(Qualification(enterprise_id=firm.id,
                                             kind=rng.choice(["tech_sme", "hnte", "chuying"]),
                                             granted_on=granted, valid_until=until,
                                             revoked_on=revoked))
        db.session.flush()
        archived = [f.id for f in firms[::7]]
        db.session.execute(update(Enterprise).where(Enterprise.id.in_(archived))
                           .values(status="archived"))
        db.session.commit()
    return firms


def _straight(months: list[str], zone: str | None) -> list[int]:
    counted = []
    rows = db.session.execute(select(Qualification, Enterprise.status, Enterprise.zone)
                              .join(Enterprise, Enterprise.id == Qualification.enterprise_id))
    held = [(q, status, z) for q, status, z in rows]
    for month in months:
        first, last = drilldown.month_bounds(month)
        counted.append(len({
            q.enterprise_id for q, status, z in held
            if status == "active" and (zone is None or z == zone)
            and q.status_on(DAY) == "valid" and q.valid_until is not None
            and max(first, DAY) <= q.valid_until <= last}))
    return counted


@pytest.mark.parametrize("zone", [None, "hitech"])
def test_expiring_per_month_equals_the_straightforward_count(titles, app, zone):
    user = make_user("zone", zone=zone) if zone else make_user("bureau")
    with frozen(DAY), app.test_request_context("/"):
        panel = charts.payload("workload", user)[0]
        months = panel["categories"]
        assert months[0] == "2026-12" and months[-1] == "2027-11"
        expected = _straight(months, zone)
        assert panel["series"][0]["values"] == expected
    assert sum(expected) > 10  # the world gives every edge something to count


def test_expiring_titles_are_read_off_the_validity_index_on_sqlite(titles, app):
    """Only the titles ending inside the months shown: a range on the covering index, never a
    scan of every title (the chart once grouped all valid titles by month)."""
    from tests.dashboard.test_cold_queries import _sqlite_plan, _statements

    if db.session.get_bind().dialect.name != "sqlite":
        pytest.skip("the SQLite plan (the embedded target of issue 12)")
    db.session.execute(text("ANALYZE"))
    user = make_user("bureau")
    with frozen(DAY), app.test_request_context("/"):
        found = [s for s in _statements(lambda: charts.workload(user))
                 if "FROM qualifications" in s[0]]
        assert len(found) == 1
        plan = _sqlite_plan(*found[0])
    assert ("SEARCH qualifications USING COVERING INDEX ix_qualifications_validity_cover "
            "(valid_until>? AND valid_until<?)") in plan, plan
