"""A user's own password, reset by email, admin resets and calendar-feed tokens."""

from __future__ import annotations

import re
from datetime import timedelta

from flask import g
from sqlalchemy import select

from tests.conftest import csrf_from, csrf_token, login
from tests.factories import PASSWORD, make_user
from tracker.accounts.models import User, UserToken
from tracker.accounts.tasks import send_password_reset_now
from tracker.celery_app import _PENDING_KEY
from tracker.clock import frozen, now_utc
from tracker.extensions import db

HOST = "tracker.test"
NEW = "Haihe-bridge-lantern-7"


def _fresh() -> None:
    for name in ("_login_user", "csrf_token"):
        g.pop(name, None)


def _signed_in(client) -> bool:
    _fresh()
    return client.get("/enterprises/").status_code == 200


def _change(client, current: str, new: str, confirm: str | None = None):
    _fresh()
    page = client.get("/account/password").get_data(as_text=True)
    return client.post("/account/password", data={
        "csrf_token": csrf_from(page), "current": current, "password": new,
        "confirm": new if confirm is None else confirm})


def test_own_password_change_checks_current_password_and_policy(client):
    user = make_user("bureau")
    login(client, user)
    assert _change(client, "not-my-password", NEW).status_code == 400
    response = _change(client, PASSWORD, "password2024")
    assert response.status_code == 400
    assert "常见密码" in response.get_data(as_text=True)
    assert _change(client, PASSWORD, NEW).status_code == 302
    db.session.expire_all()
    assert user.check_password(NEW)


def _reset_link(smtp) -> str:
    (accepted,) = smtp.handler.snapshot()
    body = accepted.message().get_body(preferencelist=("plain",)).get_content()
    return re.search(r"https?://\S+/password/reset/(\S+)", body).group(0)


def test_reset_link_by_email_is_single_use(client, app, smtp):
    user = make_user("bureau")
    other = app.test_client()
    login(other, user)
    _fresh()
    token = csrf_token(client, "/password/forgot")
    response = client.post("/password/forgot", data={"csrf_token": token, "email": user.email})
    assert response.status_code == 302
    assert send_password_reset_now(user.id)
    link = _reset_link(smtp)
    path = "/" + link.split("/", 3)[3]
    row = db.session.scalar(select(UserToken).where(UserToken.user_id == user.id))
    assert path.rsplit("/", 1)[1] not in row.key  # only the hash is stored
    _fresh()
    page = client.get(path)
    assert page.status_code == 200
    response = client.post(path, data={"csrf_token": csrf_from(page.get_data(as_text=True)),
                                       "password": NEW, "confirm": NEW})
    assert response.status_code == 302
    _fresh()
    assert client.get(path).status_code == 404  # spent
    assert not _signed_in(other)  # the reset ended every session
    login(client, user, password=NEW)


def test_the_forgot_page_says_the_same_for_unknown_emails(client, smtp):
    _fresh()
    token = csrf_token(client, "/password/forgot")
    response = client.post("/password/forgot", data={"csrf_token": token,
                                                     "email": "nobody@test.example"})
    assert response.status_code == 302
    assert not db.session().info.get(_PENDING_KEY)
    assert smtp.handler.snapshot() == []


def test_reset_links_expire_and_a_new_one_retires_the_old(client, app, smtp):
    user = make_user("bureau")
    assert send_password_reset_now(user.id)
    first = "/" + _reset_link(smtp).split("/", 3)[3]
    assert not send_password_reset_now(user.id)  # cooldown: no mail bombing
    with frozen(now_utc() + timedelta(minutes=app.config["PASSWORD_RESET_MINUTES"] + 1)):
        _fresh()
        assert client.get(first).status_code == 404
        smtp.handler.accepted.clear()
        assert send_password_reset_now(user.id)
    second = "/" + _reset_link(smtp).split("/", 3)[3]
    assert second != first
    _fresh()
    assert client.get(second).status_code == 200


def test_admin_reset_forces_a_change_at_next_login(client, app):
    user = make_user("bureau")
    victim_browser = app.test_client()
    login(victim_browser, user)
    admin = make_user("admin")
    login(client, admin)
    _fresh()
    page = client.get(f"/admin/users/{user.id}").get_data(as_text=True)
    response = client.post(f"/admin/users/{user.id}", data={
        "csrf_token": csrf_from(page), "name": user.name, "role": "bureau", "zone": "",
        "carrier_id": "", "locale": "zh_CN", "active": "y", "password": "Temp-Binhai-4471",
        "must_change": "y"})
    assert response.status_code == 302
    assert not _signed_in(victim_browser)  # the old sessions ended
    fresh = app.test_client()
    _fresh()
    token = csrf_token(fresh)
    response = fresh.post("/login", data={"email": user.email, "password": "Temp-Binhai-4471",
                                          "csrf_token": token})
    assert response.headers["Location"].endswith("/account/password")
    _fresh()
    assert fresh.get("/enterprises/").headers["Location"].endswith("/account/password")
    assert _change(fresh, "Temp-Binhai-4471", NEW).status_code == 302
    assert _signed_in(fresh)
    db.session.expire_all()
    assert not db.session.get(User, user.id).must_change_password


def test_admin_page_refuses_a_weak_password(client):
    user = make_user("bureau")
    login(client, make_user("admin"))
    page = client.get(f"/admin/users/{user.id}").get_data(as_text=True)
    response = client.post(f"/admin/users/{user.id}", data={
        "csrf_token": csrf_from(page), "name": user.name, "role": "bureau", "zone": "",
        "carrier_id": "", "locale": "zh_CN", "active": "y", "password": "1234567890"})
    assert response.status_code == 400
    db.session.expire_all()
    assert user.check_password(PASSWORD)


def test_the_users_command_refuses_a_common_password(app):
    result = app.test_cli_runner().invoke(args=[
        "users", "create", "--email", "weak@test.example", "--role", "viewer",
        "--password", "password12"])
    assert result.exit_code != 0


def _feed_path(client) -> str:
    _fresh()
    page = client.get("/reminders/calendar").get_data(as_text=True)
    url = page.split('id="feed-url"')[0].rsplit('value="', 1)[1].split('"')[0]
    return "/" + url.split("/", 3)[3]


def test_calendar_tokens_can_be_regenerated_and_expire(client, app):
    user = make_user("bureau")
    login(client, user)
    old = _feed_path(client)
    assert _feed_path(client) == old  # the same address on every visit
    assert client.get(old).status_code == 200
    _fresh()
    token = csrf_token(client, "/reminders/calendar")
    assert client.post("/account/calendar-token", data={"csrf_token": token}).status_code == 302
    new = _feed_path(client)
    assert new != old
    assert client.get(old).status_code == 404
    assert client.get(new).status_code == 200
    with frozen(now_utc() + timedelta(days=app.config["CALENDAR_TOKEN_DAYS"], hours=1)):
        assert client.get(new).status_code == 404


def test_a_calendar_token_signed_the_old_way_no_longer_opens_a_feed(client, app):
    from itsdangerous import URLSafeSerializer

    user = make_user("bureau")
    forged = URLSafeSerializer(app.config["SECRET_KEY"], salt="reminders-ical").dumps(
        [user.id, user.email])
    assert client.get(f"/reminders/calendar/{forged}.ics").status_code == 404


def test_ending_this_very_session_signs_out(client):
    from tracker.accounts.models import UserSession

    user = make_user("bureau")
    login(client, user)
    row = db.session.scalar(select(UserSession).where(UserSession.user_id == user.id))
    _fresh()
    token = csrf_token(client, "/account/sessions")
    response = client.post(f"/account/sessions/{row.id}/end", data={"csrf_token": token})
    assert response.headers["Location"].endswith("/login")
    assert not _signed_in(client)


def test_the_api_answers_403_while_a_password_change_is_due(client):
    user = make_user("bureau")
    login(client, user)
    user.must_change_password = True
    db.session.flush()
    _fresh()
    response = client.get("/api/v1/enterprises")
    assert response.status_code == 403 and response.is_json
