"""Login, rate limit, safe redirects, CSRF and the users command."""

import pytest

from tests.conftest import csrf_token, login
from tests.factories import PASSWORD, make_user
from tracker.accounts.access import safe_next
from tracker.accounts.models import User
from tracker.extensions import db


def test_login_and_logout(client):
    user = make_user("bureau")
    login(client, user)
    assert client.get("/enterprises/").status_code == 200
    token = csrf_token(client, "/enterprises/")
    assert client.post("/logout", data={"csrf_token": token}).status_code == 302
    assert client.get("/enterprises/").status_code == 302


def test_wrong_password_is_refused(client):
    user = make_user("bureau")
    token = csrf_token(client)
    response = client.post("/login", data={"email": user.email, "password": "nope",
                                           "csrf_token": token})
    assert response.status_code == 401
    assert "邮箱或密码不正确" in response.get_data(as_text=True)


def test_login_is_rate_limited_after_repeated_failures(client):
    user = make_user("bureau")
    token = csrf_token(client)
    for _ in range(5):
        client.post("/login", data={"email": user.email, "password": "bad",
                                    "csrf_token": token})
    response = client.post("/login", data={"email": user.email, "password": PASSWORD,
                                           "csrf_token": token})
    assert response.status_code == 429  # even the right password waits out the window


def test_login_without_csrf_token_is_refused(client):
    user = make_user("bureau")
    response = client.post("/login", data={"email": user.email, "password": PASSWORD})
    assert response.status_code == 400
    assert client.get("/enterprises/").status_code == 302


def test_post_without_csrf_token_is_rejected_when_logged_in(client):
    user = make_user("bureau")
    login(client, user)
    response = client.post("/enterprises/new", data={"name": "x", "uscc": "x", "zone": "teda"})
    assert response.status_code == 400


@pytest.mark.parametrize(
    ("target", "expected"),
    [
        ("/enterprises/?q=海河", "/enterprises/?q=海河"),
        ("https://evil.example/", "/"),
        ("//evil.example/x", "/"),
        ("/\\evil.example", "/"),
        ("javascript:alert(1)", "/"),
        ("", "/"),
        (None, "/"),
    ],
)
def test_next_is_limited_to_this_site(target, expected):
    assert safe_next(target, "/") == expected


def test_login_follows_a_safe_next(client):
    user = make_user("bureau")
    token = csrf_token(client)
    response = client.post("/login?next=https://evil.example/", data={
        "email": user.email, "password": PASSWORD, "csrf_token": token})
    assert response.headers["Location"] == "/"


def test_inactive_user_cannot_log_in(client):
    user = make_user("bureau")
    user.active = False
    db.session.flush()
    token = csrf_token(client)
    response = client.post("/login", data={"email": user.email, "password": PASSWORD,
                                           "csrf_token": token})
    assert response.status_code == 401


def test_passwords_are_hashed_with_argon2():
    user = make_user("viewer")
    assert user.password_hash.startswith("$argon2id$")
    assert user.check_password(PASSWORD)
    assert not user.check_password(PASSWORD + "x")


def test_users_create_command(app):
    runner = app.test_cli_runner()
    result = runner.invoke(args=["users", "create", "--email", "New.Zone@Test.example",
                                 "--role", "zone", "--zone", "teda",
                                 "--password", "long-enough-1"])
    assert result.exit_code == 0, result.output
    user = db.session.scalar(db.select(User).where(User.email == "new.zone@test.example"))
    assert user.role == "zone" and user.zone == "teda"
    result = runner.invoke(args=["users", "create", "--email", "z2@test.example",
                                 "--role", "zone", "--password", "long-enough-1"])
    assert result.exit_code != 0
    assert "区域" in result.output


def test_only_admins_reach_the_user_pages(client):
    login(client, make_user("bureau"))
    assert client.get("/admin/users").status_code == 403


def test_admin_creates_a_user_through_the_page(client):
    login(client, make_user("admin"))
    token = csrf_token(client, "/admin/users/new")
    response = client.post("/admin/users/new", data={
        "csrf_token": token, "email": "viewer9@test.example", "name": "领导",
        "role": "viewer", "zone": "", "carrier_id": "", "locale": "zh_CN",
        "password": "a-long-password", "active": "y"})
    assert response.status_code == 302
    assert db.session.scalar(db.select(User).where(User.email == "viewer9@test.example"))


def test_pages_carry_security_headers(client):
    response = client.get("/login")
    assert response.headers["X-Frame-Options"] == "DENY"
    assert response.headers["X-Content-Type-Options"] == "nosniff"


def test_production_cookies_are_secure():
    from config import ProductionConfig

    assert ProductionConfig.SESSION_COOKIE_SECURE is True
    assert ProductionConfig.SESSION_COOKIE_HTTPONLY is True
