"""PostgreSQL, two real connections: a save committed while a full refresh of the maintained
figures is running neither fails nor leaves wrong figures marked current.

The refresh deletes every mark and figure and inserts them again from its own snapshot; a
save recounting its firm meanwhile used to block on the refresh's new marks and fail with a
unique violation when it committed (a 500, or a failed import chunk), and the figures could
end up without the save's change while the state said current.

Uses a database of its own (tests.scratch_databases) with committed data, as the two
connections must see each other's commits.
"""

from __future__ import annotations

import threading
import time
from datetime import date

import pytest
from sqlalchemy import text

from tests.dashboard.test_aggregates import maintained, straightforward
from tests.factories import make_enterprise, make_user
from tests.scratch_databases import scratch_app
from tracker.clock import frozen
from tracker.dashboard import aggregates
from tracker.extensions import db
from tracker.ladder import services as ladder

pytestmark = [pytest.mark.live, pytest.mark.postgres]

DAY = date(2026, 12, 1)
#: seconds a thread waits for the other before the test gives up (never reached when right)
PATIENCE = 30


@pytest.fixture
def pg_app():
    """An app on a fresh PostgreSQL database of its own, with plain (committing) sessions."""
    with scratch_app("aggregates") as app, app.app_context():
        yield app


def _someone_waits_for_a_lock() -> bool:
    """Whether a connection of this database is waiting for a lock right now (asked on a
    connection of its own: the caller's transaction stays open)."""
    with db.engine.connect() as conn:
        return bool(conn.scalar(text(
            "SELECT count(*) FROM pg_stat_activity WHERE datname = current_database() "
            "AND wait_event_type = 'Lock'")))


def _commit_once_the_other_waits(other_done: threading.Event) -> None:
    """Hold this thread's transaction open until the other thread waits for one of its locks
    (or is done, or PATIENCE runs out), then commit."""
    deadline = time.monotonic() + PATIENCE
    while not other_done.is_set() and time.monotonic() < deadline:
        if _someone_waits_for_a_lock():
            break
        time.sleep(0.05)
    db.session.commit()


def _in_threads(app, *works) -> list:
    """Run each of `works` in a thread of its own (own app context and session) and wait for
    all; their errors in the same order (None for a work that finished)."""
    errors: list = [None] * len(works)

    def run(slot: int) -> None:
        with app.app_context():
            try:
                works[slot]()
            except Exception as error:  # the test reports it
                errors[slot] = error
                db.session.rollback()
            finally:
                db.session.remove()

    threads = [threading.Thread(target=run, args=(slot,)) for slot in range(len(works))]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(PATIENCE * 2)
    assert not any(thread.is_alive() for thread in threads), "a thread never finished"
    return errors


def _world() -> tuple[dict, int]:
    """Five firms in two zones with titles, committed, and the figures refreshed."""
    users = {"bureau": make_user("bureau"), "hitech": make_user("zone", zone="hitech"),
             "teda": make_user("zone", zone="teda")}
    firms = [make_enterprise(zone=("hitech", "teda")[i % 2], name=f"并发刷新{i}号有限公司")
             for i in range(5)]
    for i, firm in enumerate(firms):
        ladder.grant_qualification(firm, "tech_sme", None, date(2024 + i % 3, 3, 1),
                                   date(2026 + i % 3, 12, 31))
    ladder.grant_qualification(firms[1], "hnte", None, date(2025, 2, 1), date(2028, 1, 31))
    db.session.commit()
    aggregates.refresh()
    db.session.commit()
    return users, firms[0].id


def _grant(firm) -> None:
    """A new title: the firm's marks and its zone's figures change."""
    ladder.grant_qualification(firm, "hnte", None, date(2026, 11, 20), date(2029, 11, 19))


def _rename(firm) -> None:
    """A watched change that counts the same: new marks equal to the old, no figure moves."""
    firm.name = firm.name + "（更名）"


def _save_during_refresh(app, firm_id: int, change) -> list:
    """A refresh flushed and holding its transaction open; a save of `firm_id` (`change`,
    committed through the after-save pipeline) meanwhile; the refresh commits once the save
    waits for it (or the save is done). Returns the two threads' errors (refresh, save)."""
    from tracker.enterprises.models import Enterprise

    refreshed, saved = threading.Event(), threading.Event()

    def refresh() -> None:
        aggregates.refresh()
        refreshed.set()
        _commit_once_the_other_waits(saved)

    def save() -> None:
        try:
            assert refreshed.wait(PATIENCE)
            firm = db.session.get(Enterprise, firm_id)
            change(firm)
            db.session.commit()
        finally:
            saved.set()

    return _in_threads(app, refresh, save)


@pytest.mark.parametrize("change", [_grant, _rename])
def test_a_save_during_a_refresh_succeeds_and_no_wrong_figure_reads_current(pg_app, change):
    with frozen(DAY):
        users, firm_id = _world()
        before = aggregates.holders(users["bureau"])
        refresh_error, save_error = _save_during_refresh(pg_app, firm_id, change)
        assert save_error is None, f"the save failed: {save_error!r}"
        assert refresh_error is None, f"the refresh failed: {refresh_error!r}"
        db.session.expire_all()
        if aggregates.current_state() is None:
            return  # not current: the pages count with the plain queries until the next refresh
        if change is _grant:
            assert aggregates.holders(users["bureau"]) != before  # the new title is counted
        for scope, user in users.items():
            assert maintained(user) == straightforward(user), scope


def test_a_refresh_started_during_a_save_counts_the_save(pg_app):
    """The other order: a save has recounted (holding the state row) and not committed yet
    when a refresh starts; the refresh waits for the commit and counts the new title."""
    from tracker import snapshots
    from tracker.enterprises.models import Enterprise

    with frozen(DAY):
        users, firm_id = _world()
        recounted, refreshed = threading.Event(), threading.Event()

        def save() -> None:
            try:
                _grant(db.session.get(Enterprise, firm_id))
                db.session.flush()
                snapshots.bump()
                assert aggregates.recount_for([firm_id])
            finally:
                recounted.set()
            # the pipeline recounts again at this commit: this transaction's own version
            _commit_once_the_other_waits(refreshed)

        def refresh() -> None:
            try:
                assert recounted.wait(PATIENCE)
                aggregates.refresh()
                db.session.commit()
            finally:
                refreshed.set()

        assert _in_threads(pg_app, refresh, save) == [None, None]
        db.session.expire_all()
        assert aggregates.current_state() is not None
        assert aggregates.holders(users["bureau"])["hnte"] == 2
        for scope, user in users.items():
            assert maintained(user) == straightforward(user), scope


def test_a_bulk_commit_landing_during_a_refresh_leaves_the_figures_stale(pg_app):
    """A bulk commit (its firms left to a worker: it only marks the figures stale) has
    written and announced its change when a refresh (after another counted commit) reads the
    version; it commits after the refresh. Its change is not in the figures, so they must not
    read as current: the version is the order of the commits, not of the announcements
    (max(id) of rows inserted before commit said current)."""
    from tracker import changes, snapshots
    from tracker.enterprises.models import Enterprise

    with frozen(DAY):
        users, firm_id = _world()
        announced, refreshed = threading.Event(), threading.Event()

        def bulk() -> None:
            try:
                _grant(db.session.get(Enterprise, firm_id))
                db.session.flush()
                # the bulk path: the firms go to workers, the commit only says "changed"
                db.session.info.pop(changes._KEY, None)
                snapshots.bump()
                db.session.flush()
            finally:
                announced.set()
            assert refreshed.wait(PATIENCE)
            db.session.commit()

        def counted_commit_then_refresh() -> None:
            try:
                assert announced.wait(PATIENCE)
                snapshots.bump()  # another counted commit meanwhile (its version is newer)
                db.session.commit()
                aggregates.refresh()
                db.session.commit()
            finally:
                refreshed.set()

        assert _in_threads(pg_app, bulk, counted_commit_then_refresh) == [None, None]
        db.session.expire_all()
        if aggregates.current_state() is not None:
            for scope, user in users.items():
                assert maintained(user) == straightforward(user), scope
