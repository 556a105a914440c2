"""Admin pages: only admins, audited, the secret shown once, confirmed deletes, resend, test."""

from __future__ import annotations

import pytest
from sqlalchemy import select

from tests.conftest import csrf_token
from tests.factories import make_user
from tests.webhooks.conftest import make_endpoint
from tracker.audit.models import AuditEvent
from tracker.extensions import db
from tracker.webhooks import events
from tracker.webhooks.models import WebhookDelivery, WebhookEndpoint


@pytest.fixture
def admin_client(login_as):
    """The test client signed in as an admin."""
    return login_as(make_user("admin"))


def _audit(entity_type: str) -> list[str]:
    return list(db.session.scalars(select(AuditEvent.action).where(
        AuditEvent.entity_type == entity_type).order_by(AuditEvent.id)))


@pytest.mark.parametrize("role", ["bureau", "zone", "carrier_manager", "viewer"])
def test_only_admins_reach_any_webhook_page(client, login_as, role):
    endpoint = make_endpoint("http://127.0.0.1:9/hook")
    [delivery_id] = events.record_test(endpoint)
    db.session.commit()
    login_as(make_user(role))
    token = csrf_token(client, "/")
    for url in ("/admin/webhooks/", "/admin/webhooks/new", f"/admin/webhooks/{endpoint.id}",
                f"/admin/webhooks/{endpoint.id}/edit"):
        assert client.get(url).status_code == 403, url
    for url in (f"/admin/webhooks/{endpoint.id}/delete", f"/admin/webhooks/{endpoint.id}/test",
                f"/admin/webhooks/{endpoint.id}/secret",
                f"/admin/webhooks/deliveries/{delivery_id}/resend", "/admin/webhooks/new"):
        answer = client.post(url, data={"csrf_token": token, "confirm": "yes",
                                        "url": "http://evil.example/", "events": "rung.changed"})
        assert answer.status_code == 403, url
    db.session.expire_all()
    assert db.session.get(WebhookEndpoint, endpoint.id).url == "http://127.0.0.1:9/hook"
    assert db.session.scalar(select(WebhookEndpoint).where(
        WebhookEndpoint.url == "http://evil.example/")) is None


def test_anonymous_is_sent_to_login(client):
    answer = client.get("/admin/webhooks/")
    assert answer.status_code == 302 and "/login" in answer.headers["Location"]


def test_register_shows_a_generated_secret_once_and_is_audited(admin_client):
    token = csrf_token(admin_client, "/admin/webhooks/new")
    answer = admin_client.post("/admin/webhooks/new", data={
        "csrf_token": token, "url": "https://hooks.example/tracker", "description": "孵化器系统",
        "events": ["qualification.granted", "tenancy.status_changed"], "active": "y",
        "secret": ""})
    assert answer.status_code == 200
    endpoint = db.session.scalar(select(WebhookEndpoint))
    assert endpoint.secret.startswith("whsec_") and len(endpoint.secret) > 30
    assert endpoint.secret in answer.get_data(as_text=True)
    assert endpoint.events == ["qualification.granted", "tenancy.status_changed"]
    assert _audit("webhook_endpoint") == ["create"]
    audited = db.session.scalar(select(AuditEvent).where(
        AuditEvent.entity_type == "webhook_endpoint"))
    assert endpoint.secret not in str(audited.changes)
    for url in ("/admin/webhooks/", f"/admin/webhooks/{endpoint.id}",
                f"/admin/webhooks/{endpoint.id}/edit"):
        page = admin_client.get(url)
        assert page.status_code == 200
        assert endpoint.secret not in page.get_data(as_text=True), url


@pytest.mark.parametrize("url", ["ftp://hooks.example/x", "javascript:alert(1)", "hooks",
                                 "http:///nohost"])
def test_a_bad_url_is_refused(admin_client, url):
    token = csrf_token(admin_client, "/admin/webhooks/new")
    answer = admin_client.post("/admin/webhooks/new", data={
        "csrf_token": token, "url": url, "events": ["rung.changed"], "secret": ""})
    assert answer.status_code == 400
    assert db.session.scalar(select(WebhookEndpoint)) is None


def test_edit_rotate_and_a_confirmed_delete(admin_client):
    endpoint = make_endpoint("http://127.0.0.1:9/hook")
    events.record_test(endpoint)
    db.session.commit()
    old_secret = endpoint.secret
    page = admin_client.get(f"/admin/webhooks/{endpoint.id}/edit").get_data(as_text=True)
    assert 'data-confirm="' in page  # rotating and deleting ask first
    token = csrf_token(admin_client, f"/admin/webhooks/{endpoint.id}/edit")
    answer = admin_client.post(f"/admin/webhooks/{endpoint.id}/edit", data={
        "csrf_token": token, "version": endpoint.version, "url": "http://127.0.0.1:9/other",
        "events": ["rung.changed"], "description": "改"})
    assert answer.status_code == 302
    answer = admin_client.post(f"/admin/webhooks/{endpoint.id}/secret",
                               data={"csrf_token": token})
    db.session.expire_all()
    assert endpoint.secret != old_secret and endpoint.secret in answer.get_data(as_text=True)
    assert not endpoint.active  # the unchecked box switched it off
    # without the confirmation box nothing is deleted
    admin_client.post(f"/admin/webhooks/{endpoint.id}/delete", data={"csrf_token": token})
    assert db.session.get(WebhookEndpoint, endpoint.id) is not None
    admin_client.post(f"/admin/webhooks/{endpoint.id}/delete",
                      data={"csrf_token": token, "confirm": "yes"})
    db.session.expire_all()
    assert db.session.get(WebhookEndpoint, endpoint.id) is None
    assert db.session.scalar(select(WebhookDelivery)) is None
    assert _audit("webhook_endpoint") == ["create", "update", "rotate_secret", "delete"]


def test_deliveries_page_test_button_and_resend(admin_client):
    endpoint = make_endpoint("http://127.0.0.1:9/hook")
    db.session.commit()
    token = csrf_token(admin_client, f"/admin/webhooks/{endpoint.id}")
    answer = admin_client.post(f"/admin/webhooks/{endpoint.id}/test",
                               data={"csrf_token": token})
    assert answer.status_code == 302
    delivery = db.session.scalar(select(WebhookDelivery))
    assert delivery.event.type == "webhook.test"
    db.session.execute(WebhookDelivery.__table__.update().values(
        status="failed", attempts=3, last_error="permanent: HTTP 410: gone", response_code=410))
    db.session.commit()
    page = admin_client.get(f"/admin/webhooks/{endpoint.id}").get_data(as_text=True)
    assert "HTTP 410" in page and "410" in page and delivery.event.public_id in page
    assert f"/admin/webhooks/deliveries/{delivery.id}/resend" in page
    admin_client.post(f"/admin/webhooks/deliveries/{delivery.id}/resend",
                      data={"csrf_token": token})
    db.session.expire_all()
    assert (delivery.status, delivery.attempts, delivery.last_error) == ("pending", 0, None)
    assert _audit("webhook_delivery") == ["resend"]
    assert admin_client.get(f"/admin/webhooks/{endpoint.id}?status=pending").status_code == 200
    assert admin_client.get("/admin/webhooks/999999").status_code == 404


def test_the_deliveries_page_costs_the_same_queries_whatever_its_size(admin_client):
    from tests.conftest import count_queries

    endpoint = make_endpoint("http://127.0.0.1:9/hook")
    for _ in range(30):
        events.record_test(endpoint)
    db.session.commit()
    admin_client.get(f"/admin/webhooks/{endpoint.id}")  # the session's own first-request writes
    counts = []
    for size in (5, 30):
        with count_queries() as statements:
            page = admin_client.get(f"/admin/webhooks/{endpoint.id}?size={size}")
        assert page.status_code == 200
        counts.append(len(statements))
    assert counts[0] == counts[1]
    with count_queries() as few:
        admin_client.get("/admin/webhooks/")
    for _ in range(3):
        make_endpoint("http://127.0.0.1:9/more")
    db.session.commit()
    with count_queries() as more:
        admin_client.get("/admin/webhooks/")
    assert len(more) == len(few)
