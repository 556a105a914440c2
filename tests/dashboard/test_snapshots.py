"""Dashboard figures cached per scope: the same numbers as fresh queries, with their age."""

from __future__ import annotations

from datetime import timedelta

import pytest

from tests.conftest import count_queries, login
from tests.factories import make_enterprise, make_user
from tracker import snapshots
from tracker.clock import frozen, now_utc
from tracker.dashboard import queries
from tracker.extensions import db


@pytest.fixture
def caching(app, monkeypatch):
    """The dashboard cache switched on for one test, empty before and after."""
    monkeypatch.setitem(app.config, "DASHBOARD_CACHE_SECONDS", 300)
    snapshots.clear()
    yield
    snapshots.clear()


def test_cached_figures_equal_fresh_ones_then_age_out(caching):
    user = make_user("bureau")
    make_enterprise(zone="teda")
    db.session.flush()
    start = now_utc()
    with frozen(start):
        first, at = snapshots.cached("by_zone", user, lambda: queries.enterprises_by_zone(user))
    assert first == queries.enterprises_by_zone(user) == {"teda": 1}
    make_enterprise(zone="teda")
    db.session.flush()
    with frozen(start + timedelta(seconds=299)):
        again, again_at = snapshots.cached("by_zone", user,
                                           lambda: queries.enterprises_by_zone(user))
    assert (again, again_at) == (first, at)  # within the age limit: the kept answer
    with frozen(start + timedelta(seconds=301)):
        fresh, fresh_at = snapshots.cached("by_zone", user,
                                           lambda: queries.enterprises_by_zone(user))
    assert fresh == queries.enterprises_by_zone(user) == {"teda": 2}
    assert fresh_at > at


def test_scopes_do_not_share_figures(caching):
    bureau, teda = make_user("bureau"), make_user("zone", zone="teda")
    make_enterprise(zone="teda")
    make_enterprise(zone="hitech")
    db.session.flush()
    mine = snapshots.cached("by_zone", teda, lambda: queries.enterprises_by_zone(teda))[0]
    everyone = snapshots.cached("by_zone", bureau,
                                lambda: queries.enterprises_by_zone(bureau))[0]
    assert mine == {"teda": 1}
    assert everyone == {"teda": 1, "hitech": 1}


def test_dashboard_shows_the_figures_and_their_age(caching, client):
    user = make_user("bureau")
    make_enterprise(zone="teda")
    db.session.flush()
    login(client, user)
    page = client.get("/").get_data(as_text=True)
    assert 'id="figures-age"' in page and "统计截至" in page


def test_board_counts_come_with_their_age(caching, client):
    user = make_user("bureau")
    make_enterprise(zone="teda")
    db.session.flush()
    login(client, user)
    page = client.get("/ladder/board").get_data(as_text=True)
    assert 'id="counts-age"' in page


def test_a_committed_change_is_on_the_next_request_despite_the_cache(caching, client):
    """Another worker's cached figures go stale with the commit, not after five minutes."""
    user = make_user("bureau")
    make_enterprise(zone="teda")
    db.session.commit()
    first, at = snapshots.cached("by_zone", user, lambda: queries.enterprises_by_zone(user))
    assert first == {"teda": 1}
    make_enterprise(zone="teda")
    db.session.commit()  # the after-save pipeline bumps the counts version
    again, again_at = snapshots.cached("by_zone", user,
                                       lambda: queries.enterprises_by_zone(user))
    assert again == {"teda": 2}
    assert again_at >= at
    login(client, user)
    page = client.get("/").get_data(as_text=True)
    assert 'id="figures-age"' in page
    make_enterprise(zone="teda")
    db.session.commit()
    fresh = snapshots.cached("by_zone", user, lambda: queries.enterprises_by_zone(user))[0]
    assert fresh == {"teda": 3}


def test_an_unchanged_register_keeps_the_cached_figures(caching):
    user = make_user("bureau")
    make_enterprise(zone="teda")
    db.session.commit()
    calls = []

    def count():
        calls.append(1)
        return queries.enterprises_by_zone(user)

    snapshots.cached("by_zone", user, count)
    snapshots.cached("by_zone", user, count)
    assert len(calls) == 1


def test_a_signed_in_request_reads_the_counts_version_with_its_user(caching, client):
    """The kept figures' validity costs no round trip of its own: the user lookup every
    signed-in request makes reads the counts version in the same statement."""
    user = make_user("bureau")
    make_enterprise(zone="teda")
    db.session.commit()
    login(client, user)
    assert client.get("/dashboard/charts/zones.json").status_code == 200  # figures kept
    with count_queries() as statements:
        assert client.get("/dashboard/charts/zones.json").status_code == 200
    reads = [s for s in statements if "counts_version" in s]
    assert len(reads) == 1, reads
    assert "user_sessions" in reads[0]


def test_each_request_reads_the_counts_version_afresh(caching, client):
    """A counted change committed between two requests shows on the second: the version is
    the request's own, not one kept from an earlier request (tests share one app context)."""
    user = make_user("bureau")
    make_enterprise(zone="teda")
    db.session.commit()
    login(client, user)
    before = client.get("/dashboard/charts/zones.json").get_json()["panels"]
    make_enterprise(zone="hitech")
    db.session.commit()  # the after-save pipeline bumps the counts version
    after = client.get("/dashboard/charts/zones.json").get_json()["panels"]
    snapshots.clear()
    fresh = client.get("/dashboard/charts/zones.json").get_json()["panels"]
    assert after == fresh
    assert after != before
