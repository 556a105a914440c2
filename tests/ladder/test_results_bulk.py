"""Small commits recompute eligibility inline (bulk hand-off: tests/test_changes.py)."""

from sqlalchemy import func, select

from tests.factories import make_enterprise
from tracker.extensions import db
from tracker.ladder.models import EligibilityResult


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
