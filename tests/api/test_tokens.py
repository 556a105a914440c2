"""Personal API tokens: issued once and stored hashed, expiring, revocable, read-only, limited."""

from __future__ import annotations

import hashlib
from datetime import timedelta

import pytest
from sqlalchemy import select

from tests.api.support import bearer, error_of
from tests.conftest import REDIS_URL, csrf_from, login, require_service
from tests.factories import PASSWORD, make_enterprise, make_user, valid_uscc
from tracker.accounts import api_tokens
from tracker.accounts.models import UserToken
from tracker.audit.models import AuditEvent
from tracker.clock import now_utc
from tracker.extensions import db

NEW_FIRM = {"uscc": valid_uscc(90001), "name": "天津令牌测试科技有限公司", "zone": "hitech"}


def test_cli_prints_the_token_once_and_stores_only_its_hash(app, client):
    user = make_user("bureau")
    result = app.test_cli_runner().invoke(args=[
        "tokens", "create", "--email", user.email, "--name", "孵化器系统", "--expires-days", "30",
        "--read-only"])
    assert result.exit_code == 0, result.output
    token = result.stdout.strip()
    assert token.startswith("ipt_") and "\n" not in token
    row = db.session.scalar(select(UserToken).where(UserToken.user_id == user.id,
                                                    UserToken.purpose == "api"))
    assert row.key == hashlib.sha256(token.encode()).hexdigest() and token not in row.key
    assert row.read_only and row.name == "孵化器系统"
    assert timedelta(days=29) < row.expires_at - now_utc() <= timedelta(days=30)
    response = client.get("/api/v1/enterprises", headers={"Authorization": f"Bearer {token}"})
    assert response.status_code == 200
    assert row.last_used_at is not None


def test_cli_refuses_an_unknown_user(app):
    result = app.test_cli_runner().invoke(args=["tokens", "create", "--email", "x@nowhere.test"])
    assert result.exit_code != 0


@pytest.mark.parametrize("header", ["Bearer ipt_nonsense", "Bearer ", "Basic dXNlcjpwdw==",
                                    "Bearer " + "x" * 300])
def test_a_bad_token_is_401_in_the_error_shape(client, header):
    response = client.get("/api/v1/enterprises", headers={"Authorization": header})
    assert response.status_code == 401
    assert error_of(response)["code"] == "unauthorized"
    assert response.headers["WWW-Authenticate"].startswith("Bearer")


def test_expired_and_revoked_tokens_stop_working(client):
    user = make_user("bureau")
    headers = bearer(user)
    assert client.get("/api/v1/enterprises", headers=headers).status_code == 200
    row = db.session.scalar(select(UserToken).where(UserToken.user_id == user.id))
    row.expires_at = now_utc() - timedelta(seconds=1)
    db.session.flush()
    assert client.get("/api/v1/enterprises", headers=headers).status_code == 401
    row.expires_at = now_utc() + timedelta(days=1)
    assert api_tokens.revoke(user, row.id)
    db.session.flush()
    assert client.get("/api/v1/enterprises", headers=headers).status_code == 401


def test_a_deactivated_users_token_stops_working(client):
    user = make_user("bureau")
    headers = bearer(user)
    user.active = False
    db.session.flush()
    assert client.get("/api/v1/enterprises", headers=headers).status_code == 401


def test_the_session_reads_but_never_writes(client):
    user = make_user("bureau")
    login(client, user)
    assert client.get("/api/v1/enterprises").status_code == 200
    response = client.post("/api/v1/enterprises", json=NEW_FIRM)
    assert response.status_code == 403
    assert error_of(response)["code"] == "token_required"
    assert client.post("/api/v1/enterprises", json=NEW_FIRM,
                       headers=bearer(user)).status_code == 201


def test_anonymous_writes_are_401(client):
    response = client.post("/api/v1/enterprises", json=NEW_FIRM)
    assert response.status_code == 401 and error_of(response)["code"] == "unauthorized"


def test_a_read_only_token_refuses_writes(client):
    user = make_user("bureau")
    headers = bearer(user, read_only=True)
    assert client.get("/api/v1/enterprises", headers=headers).status_code == 200
    response = client.post("/api/v1/enterprises", json=NEW_FIRM, headers=headers)
    assert response.status_code == 403 and error_of(response)["code"] == "read_only_token"


def test_the_token_not_the_cookie_decides_who_calls(client):
    """A token of a zone officer, sent from a browser signed in as the bureau, reads as zone."""
    other = make_enterprise(zone="teda")
    login(client, make_user("bureau"))
    zone = make_user("zone", zone="hitech")
    assert client.get(f"/api/v1/enterprises/{other.id}").status_code == 200
    assert client.get(f"/api/v1/enterprises/{other.id}", headers=bearer(zone)).status_code == 404


def test_writes_are_audited_with_the_token_as_channel(client):
    user = make_user("bureau")
    token, row = api_tokens.issue(user, name="城市数据平台")
    response = client.post("/api/v1/enterprises", json=NEW_FIRM,
                           headers={"Authorization": f"Bearer {token}"})
    assert response.status_code == 201
    event = db.session.scalar(select(AuditEvent).where(
        AuditEvent.entity_type == "enterprise", AuditEvent.entity_id == response.json["id"]))
    assert event.actor_id == user.id
    assert event.channel == f"api-token:{row.id} 城市数据平台"


def test_the_account_page_creates_lists_and_revokes(client):
    user = make_user("zone")
    login(client, user)
    page = client.get("/account/tokens")
    assert page.status_code == 200
    response = client.post("/account/tokens", data={
        "csrf_token": csrf_from(page.get_data(as_text=True)), "name": "园区系统",
        "expires_days": "90", "read_only": "y"})
    assert response.status_code == 200
    assert response.headers["Cache-Control"] == "no-store"
    html = response.get_data(as_text=True)
    token = html.split('<code class="user-select-all">')[1].split("</code>")[0]
    assert token.startswith("ipt_")
    assert "园区系统" in html
    listed = client.get("/account/tokens").get_data(as_text=True)
    assert token not in listed and "园区系统" in listed  # shown once only
    headers = {"Authorization": f"Bearer {token}"}
    assert client.get("/api/v1/enterprises", headers=headers).status_code == 200
    row = db.session.scalar(select(UserToken).where(UserToken.user_id == user.id,
                                                    UserToken.purpose == "api"))
    assert row.read_only
    response = client.post(f"/account/tokens/{row.id}/revoke",
                           data={"csrf_token": csrf_from(listed)})
    assert response.status_code == 302
    assert client.get("/api/v1/enterprises", headers=headers).status_code == 401


def test_nobody_revokes_another_users_token(client):
    owner, other = make_user("bureau"), make_user("bureau")
    _token, row = api_tokens.issue(owner)
    login(client, other)
    page = client.get("/account/tokens").get_data(as_text=True)
    response = client.post(f"/account/tokens/{row.id}/revoke",
                           data={"csrf_token": csrf_from(page)})
    assert response.status_code == 404
    assert row.revoked_at is None


def test_the_account_page_refuses_a_bad_lifetime(client):
    login(client, make_user("viewer"))
    page = client.get("/account/tokens").get_data(as_text=True)
    response = client.post("/account/tokens", data={"csrf_token": csrf_from(page),
                                                     "expires_days": "0"})
    assert response.status_code == 400
    assert "ipt_" not in response.get_data(as_text=True)


@pytest.mark.parametrize("backend", ["memory", "redis"])
def test_the_rate_limit_answers_429_with_retry_after(app, client, monkeypatch, backend):
    if backend == "redis":
        url = require_service("Redis", REDIS_URL, 6379)
        monkeypatch.setitem(app.config, "API_RATE_REDIS_URL", url)
    monkeypatch.setitem(app.config, "API_RATE_LIMIT", 3)
    monkeypatch.setitem(app.config, "API_RATE_WINDOW_SECONDS", 3600)
    user = make_user("viewer")
    headers, others = bearer(user), bearer(user)
    statuses = [client.get("/api/v1/enterprises", headers=headers).status_code
                for _ in range(4)]
    assert statuses == [200, 200, 200, 429]
    response = client.get("/api/v1/enterprises", headers=headers)
    assert error_of(response)["code"] == "rate_limited"
    assert 1 <= int(response.headers["Retry-After"]) <= 3601
    # per token: another token of the same user still has its own allowance
    assert client.get("/api/v1/enterprises", headers=others).status_code == 200


def test_the_firms_history_names_the_api_channel(client):
    user = make_user("bureau")
    token, _row = api_tokens.issue(user, name="城市数据平台")
    created = client.post("/api/v1/enterprises", json=NEW_FIRM,
                          headers={"Authorization": f"Bearer {token}"})
    login(client, user)
    page = client.get(f"/enterprises/{created.json['id']}").get_data(as_text=True)
    assert "经 API 令牌" in page and "城市数据平台" in page


# -- a new password or a deactivation revokes the user's API tokens -------------------------

def _api_works(client, headers) -> bool:
    return client.get("/api/v1/enterprises", headers=headers).status_code == 200


def _password_event(user) -> AuditEvent:
    return db.session.scalars(select(AuditEvent).where(
        AuditEvent.entity_type == "user", AuditEvent.entity_id == user.id,
        AuditEvent.action == "password").order_by(AuditEvent.id.desc())).first()


def test_changing_ones_password_revokes_ones_api_tokens(client):
    """A token copied by whoever knew the old password must not outlive it (security)."""
    user, other = make_user("bureau"), make_user("bureau")
    headers, kept = bearer(user), bearer(other)
    assert _api_works(client, headers)
    login(client, user)
    page = client.get("/account/password").get_data(as_text=True)
    assert "API 令牌" in page  # the page says a change revokes them
    response = client.post("/account/password", data={
        "csrf_token": csrf_from(page), "current": PASSWORD,
        "password": "Haihe-bridge-lantern-7", "confirm": "Haihe-bridge-lantern-7"},
        follow_redirects=True)
    assert response.status_code == 200
    assert "1 个 API 令牌已吊销" in response.get_data(as_text=True)
    assert not _api_works(client, headers)
    assert _api_works(client, kept)  # another user's token is theirs
    assert _password_event(user).changes["api_tokens_revoked"] == [None, 1]


def test_an_admin_reset_and_a_reset_link_revoke_the_api_tokens(app, client):
    from tracker.accounts import services, tokens

    user = make_user("bureau")
    headers = bearer(user)
    db.session.commit()  # (the test's SAVEPOINT: a refused API request rolls back the rest)
    assert services.set_password(user, "Temp-Binhai-4471", must_change=True) == 1
    db.session.commit()
    assert not _api_works(client, headers)
    headers = bearer(user)
    with app.test_request_context("/"):
        link = tokens.issue_reset_token(user)
    db.session.commit()
    tokens.reset_password(link, "Haihe-bridge-lantern-7")
    db.session.commit()
    assert not _api_works(client, headers)


def test_deactivation_revokes_the_api_tokens_for_good(client):
    from tracker.accounts import services

    user = make_user("bureau")
    headers = bearer(user)
    assert services.set_active(user, False) == 1
    services.set_active(user, True)
    db.session.commit()
    assert not _api_works(client, headers)  # reactivation does not bring the token back
    assert db.session.scalars(select(AuditEvent).where(
        AuditEvent.entity_type == "user", AuditEvent.entity_id == user.id,
        AuditEvent.action == "deactivate")).first().changes["api_tokens_revoked"] == [None, 1]
