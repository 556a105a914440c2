"""Delivery to a real HTTP receiver on loopback: signatures, retries, redirects, deadlines."""

from __future__ import annotations

import time
from datetime import date, timedelta

import pytest
from sqlalchemy import select

from tests.factories import make_enterprise
from tests.webhooks.conftest import SECRET, Reply, make_endpoint
from tracker.clock import frozen, now_utc
from tracker.extensions import db
from tracker.ladder import services as ladder
from tracker.webhooks import events, http, services, tasks
from tracker.webhooks.models import WebhookDelivery

DAY = date(2026, 12, 1)


def _one_delivery(url: str, **kwargs) -> WebhookDelivery:
    endpoint = make_endpoint(url, events=["qualification.granted"], **kwargs)
    db.session.commit()
    firm = make_enterprise(name="天津投递科技有限公司")
    ladder.grant_qualification(firm, "hnte", "GR202512000200", date(2025, 12, 1))
    db.session.commit()
    return db.session.scalars(select(WebhookDelivery).where(
        WebhookDelivery.endpoint_id == endpoint.id)).one()


def _reload(delivery: WebhookDelivery) -> WebhookDelivery:
    db.session.expire_all()
    return db.session.get(WebhookDelivery, delivery.id)


def test_a_delivery_is_signed_and_carries_the_documented_headers(receiver):
    delivery = _one_delivery(receiver.url)
    assert tasks.deliver(delivery.id) == "delivered"
    [got] = receiver.requests
    assert got.signature_ok
    assert got.path == "/hook"
    assert got.headers["X-Tracker-Event"] == "qualification.granted"
    assert got.headers["X-Tracker-Delivery"] == str(delivery.id)
    assert got.headers["X-Tracker-Signature"].startswith("sha256=")
    body = got.json
    assert body["id"] == got.headers["X-Tracker-Event-Id"] == delivery.event.public_id
    assert body["type"] == "qualification.granted"
    assert body["data"]["qualification"]["kind_label"] == "国家高新技术企业"
    assert body["data"]["enterprise"]["name"] == "天津投递科技有限公司"
    row = _reload(delivery)
    assert (row.status, row.attempts, row.response_code) == ("delivered", 1, 200)
    assert tasks.deliver(delivery.id) == "not-pending"  # a duplicate task sends nothing
    assert len(receiver.requests) == 1


def test_a_wrong_secret_is_refused_by_the_receiver_and_not_retried(receiver):
    delivery = _one_delivery(receiver.url, secret="whsec_not-the-receivers-secret")
    assert tasks.deliver(delivery.id) == "failed"
    assert not receiver.requests[0].signature_ok
    row = _reload(delivery)
    assert row.status == "failed" and row.response_code == 401
    assert "permanent" in row.last_error


def test_500_then_200_is_one_accepted_delivery_after_two_attempts(receiver, fast):
    receiver.replies = [Reply(status=500, body=b"busy"), Reply(status=200)]
    delivery = _one_delivery(receiver.url)
    assert tasks.deliver(delivery.id) == "retry"
    row = _reload(delivery)
    assert row.status == "pending" and row.attempts == 1 and row.response_code == 500
    assert "HTTP 500" in row.last_error
    assert tasks.deliver(delivery.id) == "not-pending"  # not due yet: the backoff holds
    with frozen(now_utc() + timedelta(seconds=5)):
        assert tasks.deliver(delivery.id) == "delivered"
        assert tasks.deliver(delivery.id) == "not-pending"
        tasks.sweep_now()  # the safety net finds nothing left to send
    row = _reload(delivery)
    assert (row.status, row.attempts, row.response_code) == ("delivered", 2, 200)
    assert len(receiver.accepted) == 1
    assert len({r.headers["X-Tracker-Event-Id"] for r in receiver.requests}) == 1


def test_a_redirect_is_refused_not_followed(receiver):
    receiver.replies = [Reply(status=302, headers={"Location": receiver.url + "/elsewhere"})]
    delivery = _one_delivery(receiver.url)
    assert tasks.deliver(delivery.id) == "failed"
    assert [r.path for r in receiver.requests] == ["/hook"]  # never went to /hook/elsewhere
    row = _reload(delivery)
    assert row.status == "failed" and row.response_code == 302
    assert "redirect refused" in row.last_error


def test_a_slow_receiver_is_cut_off_at_the_whole_request_deadline(receiver, fast):
    # each byte comes within the per-read timeout, but the whole answer would take ~6 s
    receiver.replies = [Reply(status=200, body=b"x" * 60, drip=0.1)]
    delivery = _one_delivery(receiver.url)
    started = time.monotonic()
    assert tasks.deliver(delivery.id) == "retry"
    elapsed = time.monotonic() - started
    assert elapsed < 4.5, elapsed  # the answer alone would take 6 s
    row = _reload(delivery)
    assert row.status == "pending" and "timeout" in row.last_error


def test_a_silent_receiver_is_cut_off_too(receiver, fast):
    receiver.replies = [Reply(status=200, delay=4)]
    delivery = _one_delivery(receiver.url)
    assert tasks.deliver(delivery.id) == "retry"
    assert "timeout" in _reload(delivery).last_error


def test_the_response_read_is_capped(receiver, app):
    receiver.replies = [Reply(status=500, body=b"e" * 5000)]
    answer = http.post(receiver.url, b"{}", {"X-Tracker-Timestamp": "1"}, timeout=5,
                       max_body=100)
    assert answer.status in (401, 500) and len(answer.body) == 100


def test_transient_failures_end_expired_at_the_deadline_with_the_reason(receiver, fast):
    receiver.replies = [Reply(status=503)]
    delivery = _one_delivery(receiver.url)
    later = now_utc() + services.retry_window() + timedelta(minutes=1)
    with frozen(later):
        db.session.execute(WebhookDelivery.__table__.update().values(next_attempt_at=None))
        assert tasks.deliver(delivery.id) == "expired"
    row = _reload(delivery)
    assert row.status == "expired" and "deadline" in row.last_error and "503" in row.last_error


def test_a_refused_connection_is_transient():
    delivery = _one_delivery("http://127.0.0.1:9/hook")
    assert tasks.deliver(delivery.id) == "retry"
    assert "transient" in _reload(delivery).last_error


def test_the_reaper_leaves_a_live_claim_and_takes_back_a_dead_one(receiver):
    delivery = _one_delivery(receiver.url)
    claimed_at = services.claim(delivery.id)
    db.session.commit()
    # past the request's own deadline but inside the lease: the sender may still be finishing
    with frozen(claimed_at + timedelta(seconds=services.setting("WEBHOOK_TIMEOUT", 10) + 1)):
        assert services.reap() == 0
        db.session.commit()
        assert _reload(delivery).status == "sending"
        assert services.send_claimed(delivery.id, claimed_at).status == "delivered"
        db.session.commit()
    assert _reload(delivery).status == "delivered"
    # a claim whose sender died: only once its lease ran out is it taken back
    _resend(delivery)
    dead = services.claim(delivery.id)
    db.session.commit()
    with frozen(dead + timedelta(seconds=services.lease_seconds() - 1)):
        assert services.reap() == 0
    with frozen(dead + timedelta(seconds=services.lease_seconds() + 1)):
        assert services.reap() == 1
        db.session.commit()
        row = _reload(delivery)
        assert row.status == "pending" and "reclaimed" in row.last_error
        # the next claim is a new owner: the dead sender's late answer is not recorded
        fresh = services.claim(delivery.id)
        db.session.commit()
    assert fresh is not None and fresh != dead
    assert services._finish(delivery.id, dead, status="delivered") is False
    assert _reload(delivery).status == "sending"
    assert len(receiver.accepted) == 1


def _resend(delivery: WebhookDelivery) -> WebhookDelivery:
    services.resend(_reload(delivery))
    db.session.commit()
    return delivery


def test_resend_resets_attempts_and_sends_again(receiver, fast):
    receiver.replies = [Reply(status=500), Reply(status=200)]
    delivery = _one_delivery(receiver.url)
    tasks.deliver(delivery.id)
    services.resend(_reload(delivery))
    db.session.commit()
    row = _reload(delivery)
    assert (row.status, row.attempts, row.last_error) == ("pending", 0, None)
    assert tasks.deliver(delivery.id) == "delivered"
    assert _reload(delivery).attempts == 1
    assert len(receiver.accepted) == 1


def test_resend_refuses_a_row_being_sent(receiver):
    delivery = _one_delivery(receiver.url)
    services.claim(delivery.id)
    db.session.commit()
    with pytest.raises(services.ActionError):
        services.resend(_reload(delivery))


def test_the_test_event_goes_to_that_endpoint_only(receiver):
    endpoint = make_endpoint(receiver.url)
    other = make_endpoint(receiver.url)
    db.session.commit()
    [delivery_id] = events.record_test(endpoint)
    db.session.commit()
    assert tasks.deliver(delivery_id) == "delivered"
    assert receiver.accepted[0].json["type"] == "webhook.test"
    assert db.session.get(WebhookDelivery, delivery_id).endpoint_id == endpoint.id != other.id


def test_the_signature_helper_matches_the_readme_recipe():
    body = b'{"id":"x"}'
    headers = http.signed_headers(SECRET, event_type="t", event_id="x", delivery_id=1,
                                  timestamp=1700000000, body=body)
    import hashlib
    import hmac

    expected = hmac.new(SECRET.encode(), b"1700000000." + body, hashlib.sha256).hexdigest()
    assert headers["X-Tracker-Signature"] == f"sha256={expected}"


def test_the_readme_verification_recipe_accepts_a_real_delivery_and_rejects_a_forgery(receiver):
    import re
    from pathlib import Path

    readme = (Path(__file__).resolve().parents[2] / "README.md").read_text(encoding="utf-8")
    section = readme[readme.index("Verifying in Python"):]
    code = re.search(r"```python\n(.*?)```", section, re.S).group(1)
    namespace: dict = {}
    exec(compile(code, "README.md", "exec"), namespace)  # noqa: S102 - our own README
    delivery = _one_delivery(receiver.url)
    assert tasks.deliver(delivery.id) == "delivered"
    got = receiver.requests[0]
    verify = namespace["verify"]
    assert verify(SECRET, got.headers, got.body, tolerance=10**10)
    assert not verify(SECRET, got.headers, got.body + b" ", tolerance=10**10)
    assert not verify("whsec_other", got.headers, got.body, tolerance=10**10)


def test_the_sweep_is_the_net_for_a_lost_task_and_records_expiries(app):
    """A pending row whose task never ran is enqueued again; a due retry too, not an early one."""
    from tests.ladder.test_results_bulk import _published

    app.extensions["celery"].set_default()
    with frozen(DAY):
        delivery = _one_delivery("http://127.0.0.1:9/hook")
        _published(app)  # the lost task: drop what the commit published
        firm = make_enterprise()
        ladder.grant_qualification(firm, "hnte", "GR202212000300", date(2022, 12, 1),
                                   valid_until=DAY)
        db.session.commit()
        _published(app)
        result = tasks.sweep_now()
        assert result["enqueued"] >= 1 and result["reaped"] == 0
        queued = [args for name, args in _published(app) if name == "tracker.webhooks.deliver"]
        assert delivery.id in queued
        db.session.execute(WebhookDelivery.__table__.update().where(
            WebhookDelivery.id == delivery.id).values(next_attempt_at=now_utc() + timedelta(
                minutes=5)))
        db.session.commit()
        tasks.sweep_now()
        assert delivery.id not in [args for name, args in _published(app)
                                   if name == "tracker.webhooks.deliver"]  # not due yet
    with frozen(DAY + timedelta(days=1)):
        # the title ran out yesterday: the expiry is recorded by this (clock) sweep
        result = tasks.sweep_now()
        assert result["expiries"] == 0  # nobody subscribed to expiries …
        queued = [args for name, args in _published(app) if name == "tracker.webhooks.deliver"]
        assert delivery.id in queued  # … and the retry came due overnight


def test_a_host_name_is_resolved_and_delivered_to(receiver):
    answer = http.post(receiver.url.replace("127.0.0.1", "localhost"), b"{}",
                       {"X-Tracker-Timestamp": "1"}, timeout=5, max_body=100)
    assert answer.status in (200, 401)
    assert receiver.requests


def test_a_hanging_name_lookup_is_bounded_by_the_deadline(monkeypatch):
    """getaddrinfo cannot be interrupted; the request stops waiting for it at the deadline."""
    import socket

    real = socket.getaddrinfo

    def slow(*args, **kwargs):
        time.sleep(3)
        return real(*args, **kwargs)

    monkeypatch.setattr(socket, "getaddrinfo", slow)
    started = time.monotonic()
    with pytest.raises(http.DeliveryError, match="timeout"):
        http.post("http://hooks.invalid/x", b"{}", {}, timeout=0.5, max_body=10)
    assert time.monotonic() - started < 2.5


def test_the_cli_sends_what_is_due(app, receiver):
    delivery = _one_delivery(receiver.url)
    runner = app.test_cli_runner()
    result = runner.invoke(args=["webhooks", "send-due"])
    assert result.exit_code == 0, result.output
    assert '"delivered": 1' in result.output
    assert _reload(delivery).status == "delivered"
    result = runner.invoke(args=["webhooks", "sweep"])
    assert result.exit_code == 0 and '"enqueued": 0' in result.output
