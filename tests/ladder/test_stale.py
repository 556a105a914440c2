"""Eligibility that could not be recomputed in time is marked stale, shown, and caught up.

Five `recompute_many` tasks died and nobody knew: the stored results simply stayed wrong. Now
the firm carries `eligibility_stale_since` from the moment its recompute is handed to a worker
(or fails) until a recompute clears it, and the catch-up run on beat recomputes stale firms.
"""

from __future__ import annotations

from flask import current_app
from sqlalchemy import func, select

from tests.conftest import login
from tests.factories import make_enterprise, make_user
from tracker.clock import frozen, now_utc
from tracker.enterprises.models import Enterprise
from tracker.extensions import db
from tracker.ladder import results
from tracker.ladder.models import EligibilityResult
from tracker.ladder.tasks import (
    BEAT_SCHEDULE,
    CATCH_UP_GRACE,
    recompute_all,
    recompute_many,
    recompute_stale,
)


def _stale(ids: list[int]) -> list[bool]:
    db.session.expire_all()
    return [db.session.get(Enterprise, i).eligibility_stale_since is not None for i in ids]


def _results(ids: list[int]) -> int:
    return db.session.scalar(select(func.count(EligibilityResult.id))
                             .where(EligibilityResult.enterprise_id.in_(ids)))


def _bulk(monkeypatch, n: int = 3) -> list[int]:
    """A commit touching more firms than are recomputed inline; the task message is lost."""
    monkeypatch.setitem(current_app.config, "CHANGES_INLINE_LIMIT", 2)
    firms = [make_enterprise(name=f"待补算企业{i}") for i in range(n)]
    db.session.commit()
    return sorted(f.id for f in firms)


def test_a_bulk_commit_marks_the_firms_stale_until_the_worker_recomputes(monkeypatch):
    ids = _bulk(monkeypatch)
    assert _stale(ids) == [True] * 3 and _results(ids) == 0
    before = db.session.get(Enterprise, ids[0])
    version, updated = before.version, before.updated_at
    assert recompute_many(ids) == 3
    assert _stale(ids) == [False] * 3 and _results(ids) > 0
    after = db.session.get(Enterprise, ids[0])
    assert (after.version, after.updated_at) == (version, updated)  # not an edit of the firm


def test_stale_firms_are_shown_as_such(client, monkeypatch):
    ids = _bulk(monkeypatch)
    login(client, make_user("bureau"))
    page = client.get(f"/enterprises/{ids[0]}").get_data(as_text=True)
    assert "资格结果待更新" in page
    board = client.get("/ladder/board").get_data(as_text=True)
    assert board.count("资格结果待更新") == 3
    recompute_many(ids)  # runs in its own app context and session, as on a worker
    db.session.expire_all()
    assert "资格结果待更新" not in client.get(f"/enterprises/{ids[0]}").get_data(as_text=True)


def test_the_catch_up_run_recomputes_stale_firms(monkeypatch):
    ids = _bulk(monkeypatch)
    assert recompute_stale() == 0  # just handed to a worker: leave it the grace period
    with frozen(now_utc() + 2 * CATCH_UP_GRACE):
        assert recompute_stale() == 3
    assert _stale(ids) == [False] * 3 and _results(ids) > 0
    entry = BEAT_SCHEDULE["ladder-recompute-stale"]
    assert entry["task"] == "tracker.ladder.recompute_stale" and entry["options"]["expires"]


def test_the_nightly_run_takes_stale_firms_first(monkeypatch):
    fresh = make_enterprise(name="已算企业")
    db.session.commit()
    ids = _bulk(monkeypatch)
    order: list[list[int]] = []
    original = results.settled_firms  # every chunk asks first (a settled one goes no further)
    monkeypatch.setattr(results, "settled_firms",
                        lambda chunk, day: order.append(list(chunk)) or original(chunk, day))
    monkeypatch.setattr("tracker.ladder.tasks.NIGHTLY_CHUNK", 1)
    recompute_all()
    assert [c[0] for c in order] == [*ids, fresh.id]  # by id alone the fresh firm came first
    assert _stale(ids) == [False] * 3


def test_a_mark_set_after_the_recompute_read_the_facts_stays(monkeypatch):
    ids = _bulk(monkeypatch, 3)
    with frozen(now_utc() - CATCH_UP_GRACE):  # the recompute started before the new mark
        earlier = now_utc()
    db.session.execute(Enterprise.__table__.update().where(Enterprise.id == ids[0])
                       .values(eligibility_stale_since=now_utc() + CATCH_UP_GRACE))
    results._clear_stale(ids, earlier)
    assert _stale(ids) == [True, True, True]
    results._clear_stale(ids, now_utc())
    assert _stale(ids) == [True, False, False]
