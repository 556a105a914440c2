"""PostgreSQL, two real connections at once: a change is recorded and a delivery claimed once.

Uses a database of its own (tests/scratch_databases) with committed data, as the two
connections must see each other's commits.
"""

from __future__ import annotations

import threading
from datetime import date

import pytest
from sqlalchemy import func, select

from tests.factories import make_enterprise
from tests.scratch_databases import scratch_app
from tracker.extensions import db
from tracker.ladder.models import Qualification
from tracker.webhooks import events, services
from tracker.webhooks.models import WebhookDelivery, WebhookEvent, WebhookState

pytestmark = [pytest.mark.live, pytest.mark.postgres]


@pytest.fixture
def pg_app():
    """An app on a fresh PostgreSQL database of its own, with plain (committing) sessions."""
    with scratch_app("webhooks") as app, app.app_context():
        yield app


def _both(app, work) -> list:
    """Run `work` in two threads that start together, each in its own session; both results."""
    start = threading.Barrier(2)
    results: list = [None, None]

    def run(slot: int) -> None:
        with app.app_context():
            start.wait()
            try:
                results[slot] = work()
                db.session.commit()
            finally:
                db.session.remove()

    threads = [threading.Thread(target=run, args=(n,)) for n in range(2)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(30)
    return results


def test_two_commits_seeing_the_same_grant_record_one_event(pg_app):
    services.create_endpoint({"url": "http://127.0.0.1:9/hook",
                              "events": ["qualification.granted"]})
    firm = make_enterprise()
    db.session.commit()
    firm_id = firm.id
    for round_ in range(5):
        # a title stored without the pipeline having seen it yet: both observers find it new
        db.session.add(Qualification(enterprise_id=firm_id, kind="tech_sme",
                                     number=f"R{round_}", granted_on=date(2025, 1, 1)))
        db.session.flush()
        db.session.execute(WebhookState.__table__.delete().where(
            WebhookState.subject_type == "qualification"))
        db.session.info.pop("changes_touched_enterprises", None)
        db.session.commit()
        db.session.execute(WebhookEvent.__table__.delete().where(
            WebhookEvent.id.not_in(select(WebhookDelivery.event_id))))
        db.session.commit()
        before = db.session.scalar(select(func.count()).select_from(WebhookDelivery))
        _both(pg_app, lambda: events.observe([firm_id]))
        after = db.session.scalar(select(func.count()).select_from(WebhookDelivery))
        assert after - before == 1, round_


def test_two_workers_claiming_one_delivery_only_one_wins(pg_app):
    endpoint = services.create_endpoint({"url": "http://127.0.0.1:9/hook",
                                         "events": ["qualification.granted"]})
    db.session.commit()
    for _ in range(10):
        [delivery_id] = events.record_test(endpoint)
        db.session.commit()
        claims = _both(pg_app, lambda delivery_id=delivery_id: services.claim(delivery_id))
        assert sum(claim is not None for claim in claims) == 1
        assert db.session.get(WebhookDelivery, delivery_id).attempts == 1
