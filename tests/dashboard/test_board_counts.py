"""The ladder board's column counts from the dashboard's maintained figures (issue 12): equal
to the straightforward GROUP BY for every scope and filter, read without counting the firms
while the figures are current, and counted live when they are not or an officer is picked."""

from __future__ import annotations

from datetime import date

import pytest

from tests.conftest import count_queries
from tests.factories import make_enterprise, make_user
from tracker.clock import frozen
from tracker.dashboard import aggregates
from tracker.extensions import db
from tracker.ladder import queries
from tracker.ladder import services as ladder

DAY = date(2026, 12, 1)
FIELDS = ("electronic_information", "biomedicine", "new_materials")


@pytest.fixture
def register():
    """18 firms over three zones and fields, a third on a rung, one archived; figures counted."""
    with frozen(DAY):
        officer = make_user("bureau")
        firms = []
        for i in range(18):
            firm = make_enterprise(zone=("hitech", "teda", "ecocity")[i % 3],
                                   tech_field=FIELDS[(i // 3) % 3] if i % 5 else None,
                                   officer_id=officer.id if i % 4 == 0 else None)
            firms.append(firm)
            if i % 3 == 1:
                ladder.grant_qualification(firm, ("tech_sme", "hnte")[i % 2], None,
                                           date(2026, 1, 1), date(2027, 12, 31))
        firms[-1].status = "archived"
        db.session.commit()
        aggregates.refresh()
        db.session.commit()
        return {"officer": officer, "firms": firms}


FILTERS = [{}, {"zone": "hitech"}, {"tech_field": "biomedicine"},
           {"zone": "teda", "tech_field": "electronic_information"}, {"zone": "nowhere"}]


@pytest.mark.parametrize("role", ["bureau", "zone"])
@pytest.mark.parametrize("given", FILTERS)
def test_board_counts_equal_the_straightforward_count(register, app, role, given):
    user = make_user("zone", zone="teda") if role == "zone" else make_user("bureau")
    filters = queries.BoardFilters(**given)
    with frozen(DAY), app.test_request_context("/"):
        assert aggregates.usable(user)
        with count_queries() as statements:
            kept = queries.rung_counts(user, filters)
        live = queries.rung_counts_live(user, filters)
    assert kept == live
    # read off the maintained rows, not counted over the firms
    assert not [s for s in statements if "FROM enterprises" in s], statements
    if not given:
        assert sum(live.values()) == (17 if role == "bureau" else 6)


def test_an_officer_filter_or_stale_figures_count_live(register, app):
    user = make_user("bureau")
    with frozen(DAY), app.test_request_context("/"):
        by_officer = queries.BoardFilters(officer_id=register["officer"].id)
        with count_queries() as statements:
            counts = queries.rung_counts(user, by_officer)
        assert counts == queries.rung_counts_live(user, by_officer)
        assert sum(counts.values()) == 5
        assert [s for s in statements if "FROM enterprises" in s]
    with frozen(date(2026, 12, 2)), app.test_request_context("/"):  # figures of yesterday
        with count_queries() as statements:
            counts = queries.rung_counts(user, queries.BoardFilters())
        assert [s for s in statements if "FROM enterprises" in s]
        assert sum(counts.values()) == 17
