"""A bulk change recomputes eligibility on a worker, not inside the commit."""

from sqlalchemy import func, select

from tests.factories import make_enterprise
from tracker.celery_app import _PENDING_KEY
from tracker.extensions import db
from tracker.ladder import results
from tracker.ladder.models import EligibilityResult
from tracker.ladder.tasks import recompute_many


def test_small_commits_recompute_inline():
    firm = make_enterprise()
    db.session.commit()
    assert db.session.scalar(select(func.count(EligibilityResult.id)).where(
        EligibilityResult.enterprise_id == firm.id)) > 0


def _published(app) -> list[tuple[str, list]]:
    """Messages waiting on the test broker (kombu's in-memory transport)."""
    celery = app.extensions["celery"]
    out = []
    with celery.connection_for_write() as conn:
        queue = conn.SimpleQueue("celery")
        while True:
            try:
                message = queue.get(timeout=0.2)
            except queue.Empty:
                break
            args = message.payload[0]
            out.append((message.headers["task"], args[0] if args else None))
            message.ack()
        queue.close()
    return out


def test_bulk_commits_hand_the_work_to_a_task(app, monkeypatch):
    monkeypatch.setattr(results, "INLINE_RECOMPUTE_LIMIT", 3)
    _published(app)  # start from an empty queue
    firms = [make_enterprise() for _ in range(5)]
    db.session.commit()
    ids = sorted(f.id for f in firms)
    queued = [item for item in _published(app) if item[0] == "tracker.ladder.recompute_many"]
    assert queued == [("tracker.ladder.recompute_many", ids[:3]),
                      ("tracker.ladder.recompute_many", ids[3:])]
    assert not db.session().info.get(_PENDING_KEY)
    assert recompute_many(ids) == 5  # what the worker runs
    assert db.session.scalar(select(func.count(EligibilityResult.id)).where(
        EligibilityResult.enterprise_id.in_(ids))) > 0
