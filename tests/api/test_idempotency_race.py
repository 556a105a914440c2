"""Two copies of one POST racing on PostgreSQL: one record, both answered with it.

Both requests look the key up before either commits (a barrier holds them at their commits), so
only the unique (token, key) row can stop the second; its whole transaction, the proposal it
made included, is rolled back and it answers with the first one's stored response.
"""

from __future__ import annotations

import threading
from datetime import date

import pytest
from sqlalchemy import event, func, select
from sqlalchemy.orm import Session

from tests.factories import make_carrier, make_enterprise, make_user
from tests.scratch_databases import scratch_app
from tracker.accounts import api_tokens
from tracker.clock import now_utc
from tracker.extensions import db
from tracker.incubation import services
from tracker.incubation.models import StatusProposal

pytestmark = pytest.mark.live


@pytest.fixture
def race_app():
    """An app on a fresh PostgreSQL database of its own (committed data, two connections)."""
    with scratch_app("api_race", own_session=False) as app:  # its row locks, whatever the suite
        yield app


def test_a_racing_retry_makes_one_record(race_app):
    with race_app.app_context():
        carrier = make_carrier()
        tenancy = services.open_tenancy(make_enterprise(), carrier, date(2024, 1, 31))
        token, row = api_tokens.issue(make_user("carrier_manager", carrier_id=carrier.id))
        row.last_used_at = now_utc()  # no bookkeeping commit inside the race
        db.session.commit()
        tenancy_id = tenancy.id
    barrier = threading.Barrier(2, timeout=20)

    def hold(_session):
        if threading.current_thread().name.startswith("race-"):
            barrier.wait()

    answers: dict[str, object] = {}

    def send(label: str) -> None:
        response = race_app.test_client().post(
            f"/api/v1/incubation/tenancies/{tenancy_id}/proposals",
            headers={"Authorization": f"Bearer {token}", "Idempotency-Key": "race-1"},
            json={"action": "exit", "effective_on": "2026-06-30", "reason": "迁出本市"})
        answers[label] = response

    event.listen(Session, "before_commit", hold, insert=True)
    try:
        threads = [threading.Thread(target=send, args=(n,), name=f"race-{n}") for n in "ab"]
        for thread in threads:
            thread.start()
        for thread in threads:
            thread.join(30)
    finally:
        event.remove(Session, "before_commit", hold)
    first, second = answers["a"], answers["b"]
    assert {first.status_code, second.status_code} == {201}
    assert first.get_json() == second.get_json()
    assert "true" in {first.headers.get("Idempotent-Replayed"),
                      second.headers.get("Idempotent-Replayed")}
    with race_app.app_context():
        assert db.session.scalar(select(func.count(StatusProposal.id))) == 1
