"""Server-side sessions: logout, password change and deactivation end them; remember tokens."""

from __future__ import annotations

from datetime import timedelta

from flask import g
from sqlalchemy import select

from tests.conftest import csrf_from, csrf_token
from tests.factories import PASSWORD, make_user
from tracker.accounts.models import UserSession
from tracker.clock import frozen, now_utc
from tracker.extensions import db

HOST = "tracker.test"
REMEMBER = "tracker_remember"


def _fresh_request_state() -> None:
    # tests share one app context with their requests; a replay must not ride on `g`
    for name in ("_login_user", "csrf_token"):
        g.pop(name, None)


def _login(client, user, *, remember: bool = False, password: str = PASSWORD):
    _fresh_request_state()
    data = {"email": user.email, "password": password, "csrf_token": csrf_token(client)}
    if remember:
        data["remember"] = "y"
    response = client.post("/login", data=data)
    assert response.status_code == 302, response.get_data(as_text=True)[:300]
    return response


def _logout(client) -> None:
    token = csrf_token(client, "/enterprises/")
    assert client.post("/logout", data={"csrf_token": token}).status_code == 302


def _cookie(client, name: str) -> str | None:
    cookie = client.get_cookie(name, domain=HOST)
    return cookie.value if cookie else None


def _signed_in(client) -> bool:
    _fresh_request_state()
    return client.get("/enterprises/").status_code == 200


def test_a_session_cookie_replayed_after_logout_is_refused(client):
    user = make_user("bureau")
    _login(client, user)
    stolen = _cookie(client, "session")
    assert _signed_in(client)
    _logout(client)
    client.set_cookie("session", stolen, domain=HOST)
    assert not _signed_in(client)


def test_a_remember_cookie_after_logout_is_refused(client):
    user = make_user("bureau")
    _login(client, user, remember=True)
    remember = _cookie(client, REMEMBER) or _cookie(client, "remember_token")
    assert remember
    _logout(client)
    client.delete_cookie("session", domain=HOST)
    client.set_cookie(REMEMBER, remember, domain=HOST)
    client.set_cookie("remember_token", remember, domain=HOST)
    assert not _signed_in(client)


def test_the_remember_cookie_restores_a_session_and_rotates(client):
    user = make_user("bureau")
    _login(client, user, remember=True)
    first = _cookie(client, REMEMBER)
    client.delete_cookie("session", domain=HOST)
    assert _signed_in(client)
    second = _cookie(client, REMEMBER)
    assert second and second != first
    # the used token is spent: replaying it does not sign anyone in
    client.delete_cookie("session", domain=HOST)
    client.set_cookie(REMEMBER, first, domain=HOST)
    assert not _signed_in(client)


def test_remember_tokens_differ_between_logins(client, app):
    user = make_user("bureau")
    _login(client, user, remember=True)
    first = _cookie(client, REMEMBER) or _cookie(client, "remember_token")
    _logout(client)
    _login(client, user, remember=True)
    second = _cookie(client, REMEMBER) or _cookie(client, "remember_token")
    assert first and second and first != second


def test_remember_tokens_are_stored_hashed_and_expire(client, app):
    user = make_user("bureau")
    _login(client, user, remember=True)
    token = _cookie(client, REMEMBER)
    row = db.session.scalar(select(UserSession).where(UserSession.user_id == user.id))
    assert row.remember_hash and token not in row.remember_hash
    days = app.config["REMEMBER_LIFETIME_DAYS"]
    assert row.expires_at - row.created_at == timedelta(days=days)
    client.delete_cookie("session", domain=HOST)
    with frozen(now_utc() + timedelta(days=days, minutes=1)):
        assert not _signed_in(client)


def test_a_password_change_ends_every_other_session(client, app):
    user = make_user("bureau")
    other = app.test_client()
    _login(other, user, remember=True)
    other_remember = _cookie(other, REMEMBER)
    _login(client, user)
    page = client.get("/account/password").get_data(as_text=True)
    response = client.post("/account/password", data={
        "csrf_token": csrf_from(page), "current": PASSWORD,
        "password": "Haihe-bridge-lantern-7", "confirm": "Haihe-bridge-lantern-7"})
    assert response.status_code == 302
    assert _signed_in(client)  # this session goes on
    assert not _signed_in(other)
    other.delete_cookie("session", domain=HOST)
    other.set_cookie(REMEMBER, other_remember, domain=HOST)
    assert not _signed_in(other)


def test_deactivation_ends_every_session(client):
    user = make_user("bureau")
    _login(client, user)
    user.active = False
    db.session.flush()
    assert not _signed_in(client)
    user.active = True
    db.session.flush()
    assert not _signed_in(client)  # reactivation does not bring the old session back


def test_the_csrf_secret_changes_at_login(client):
    user = make_user("bureau")
    before = csrf_token(client)
    _login(client, user)
    _fresh_request_state()
    response = client.post("/reminders/preferences", data={"csrf_token": before})
    assert response.status_code == 400


def test_users_see_and_end_their_sessions(client, app):
    user = make_user("bureau")
    laptop = app.test_client()
    _login(laptop, user)
    _login(client, user)
    _fresh_request_state()
    page = client.get("/account/sessions").get_data(as_text=True)
    mine = db.session.scalars(select(UserSession).where(UserSession.user_id == user.id)
                              .order_by(UserSession.created_at)).all()
    assert len(mine) == 2
    response = client.post(f"/account/sessions/{mine[0].id}/end",
                           data={"csrf_token": csrf_from(page)})
    assert response.status_code == 302
    assert not _signed_in(laptop)
    assert _signed_in(client)


def test_a_user_cannot_end_someone_elses_session(client, app):
    owner = make_user("bureau")
    other = app.test_client()
    _login(other, owner)
    row = db.session.scalar(select(UserSession).where(UserSession.user_id == owner.id))
    _login(client, make_user("bureau"))
    token = csrf_token(client, "/account/sessions")
    assert client.post(f"/account/sessions/{row.id}/end",
                       data={"csrf_token": token}).status_code == 404
    assert _signed_in(other)


def test_loading_the_user_costs_one_query_and_last_seen_is_throttled(client, app):
    from tests.conftest import count_queries

    user = make_user("bureau")
    _login(client, user)
    db.session.commit()  # leave no transaction open, as at the start of a real request
    _fresh_request_state()
    with count_queries() as statements:
        client.get("/account/sessions")
    loads = [s for s in statements if "FROM user_sessions" in s and "users" in s]
    assert len(loads) == 1
    assert not any(s.lstrip().upper().startswith("UPDATE USER_SESSIONS") for s in statements)


def test_last_seen_is_written_once_it_is_older_than_the_throttle(client, app):
    user = make_user("bureau")
    _login(client, user)
    row = db.session.scalar(select(UserSession).where(UserSession.user_id == user.id))
    later = now_utc() + timedelta(seconds=app.config["SESSION_TOUCH_SECONDS"] + 1)
    db.session.commit()
    with frozen(later):
        assert _signed_in(client)
    db.session.expire_all()
    assert row.last_seen_at == later


def test_the_nightly_purge_drops_long_ended_sessions_only(client, app):
    from tracker.accounts.tasks import purge

    user = make_user("bureau")
    _login(client, user)
    _logout(client)
    _login(client, user)
    with frozen(now_utc() + timedelta(days=31)):
        counts = purge.run()
    assert counts["sessions"] == 2  # the ended one and the one that expired since
    assert "accounts-purge" in app.extensions["celery"].conf.beat_schedule


def test_the_users_command_ends_sessions(client, app):
    user = make_user("bureau")
    _login(client, user, remember=True)
    runner = app.test_cli_runner()
    result = runner.invoke(args=["users", "end-sessions", "--email", user.email.upper()])
    assert result.exit_code == 0 and "ended 1" in result.output, result.output
    assert not _signed_in(client)
    _login(client, user)
    assert runner.invoke(args=["users", "end-sessions", "--all"]).exit_code == 0
    assert not _signed_in(client)
    assert runner.invoke(args=["users", "end-sessions"]).exit_code != 0


def test_a_session_past_its_lifetime_signs_no_one_in(client, app):
    """The user loader's own liveness check: the row's expiry, to the second."""
    user = make_user("bureau")
    _login(client, user)
    row = db.session.scalar(select(UserSession).where(UserSession.user_id == user.id))
    expires_at = row.expires_at
    db.session.commit()
    with frozen(expires_at - timedelta(seconds=1)):
        assert _signed_in(client)
    with frozen(expires_at):
        assert not _signed_in(client)


def test_a_session_of_another_user_signs_no_one_in(client, app):
    """The cookie's user id must be the session row's: a row does not sign in someone else."""
    owner, other = make_user("bureau"), make_user("bureau")
    _login(client, owner)
    db.session.commit()
    with client.session_transaction() as cookie_session:
        cookie_session["_user_id"] = str(other.id)
    assert not _signed_in(client)
