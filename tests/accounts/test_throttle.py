"""Login throttling per address and per account, trusted proxies, equal timing."""

from __future__ import annotations

import re

from flask import g

from tests.conftest import csrf_token
from tests.factories import PASSWORD, make_user
from tracker.accounts import services


def _attempt(client, email: str, password: str, ip: str):
    for name in ("_login_user", "csrf_token"):
        g.pop(name, None)
    token = csrf_token(client)
    return client.post("/login", data={"email": email, "password": password,
                                       "csrf_token": token},
                       environ_base={"REMOTE_ADDR": ip})


def test_many_emails_from_one_address_are_slowed(client):
    refused = []
    for n in range(40):
        response = _attempt(client, f"guess{n}@test.example", "Wrong-guess-123", "203.0.113.9")
        refused.append(response.status_code == 429)
    assert any(refused), "40 different emails from one address were never slowed"
    response = _attempt(client, "guess99@test.example", "Wrong-guess-123", "203.0.113.9")
    assert response.status_code == 429
    assert response.headers.get("Retry-After", "").isdigit()
    text = response.get_data(as_text=True)
    assert re.search(r"\d+ 秒后再试", text)


def test_the_address_delay_grows_with_failures(app):
    quiet = services.throttle_delay(failures=0, free=5, base_seconds=1, cap_seconds=900)
    first = services.throttle_delay(failures=6, free=5, base_seconds=1, cap_seconds=900)
    later = services.throttle_delay(failures=9, free=5, base_seconds=1, cap_seconds=900)
    assert quiet == 0 < first < later <= 900
    assert services.throttle_delay(failures=500, free=5, base_seconds=1, cap_seconds=900) == 900


def test_wrong_passwords_from_elsewhere_do_not_lock_the_victim_out(client):
    victim = make_user("bureau")
    for _ in range(5):
        assert _attempt(client, victim.email, "Wrong-guess-123", "198.51.100.7").status_code == 401
    response = _attempt(client, victim.email, PASSWORD, "192.0.2.10")
    assert response.status_code == 302


def test_many_guesses_at_one_account_slow_only_the_guessing_addresses(client, app):
    victim = make_user("bureau")
    for n in range(30):
        _attempt(client, victim.email, "Wrong-guess-123", f"198.51.100.{n}")
    # a fresh address is still let through: no lockout of the victim by others' guesses
    assert _attempt(client, victim.email, PASSWORD, "192.0.2.10").status_code == 302
    # but an address that already guessed wrong waits for the account's delay
    guesser = app.test_client()
    assert _attempt(guesser, victim.email, PASSWORD, "198.51.100.3").status_code == 429


def test_the_forwarded_address_is_ignored_without_trusted_proxies(client):
    for n in range(12):
        _attempt_with_forwarded(client, f"x{n}@test.example", f"10.9.0.{n}")
    # every attempt came from 127.0.0.1, whatever the header said
    assert _attempt_with_forwarded(client, "y@test.example", "10.9.1.1").status_code == 429


def test_the_forwarded_address_is_honoured_with_one_trusted_proxy(restore_celery):
    from config import TestConfig
    from tracker import create_app

    class OneProxy(TestConfig):
        TRUSTED_PROXIES = 1

    proxied = create_app(OneProxy)
    seen = {}

    @proxied.get("/_whoami")
    def whoami():
        from flask import request

        seen["ip"] = request.remote_addr
        return "ok"

    proxied.test_client().get("/_whoami", headers={"X-Forwarded-For": "10.9.0.1"},
                              environ_base={"REMOTE_ADDR": "127.0.0.1"})
    assert seen["ip"] == "10.9.0.1"


def _attempt_with_forwarded(client, email: str, forwarded: str):
    for name in ("_login_user", "csrf_token"):
        g.pop(name, None)
    token = csrf_token(client)
    return client.post("/login", data={"email": email, "password": "Wrong-guess-123",
                                       "csrf_token": token},
                       headers={"X-Forwarded-For": forwarded})


def test_unknown_emails_cost_one_password_verification(client, monkeypatch):
    from argon2 import PasswordHasher

    calls = []
    original = PasswordHasher.verify

    def counting(self, hash_, password):
        calls.append(hash_)
        return original(self, hash_, password)

    monkeypatch.setattr(PasswordHasher, "verify", counting)
    _attempt(client, "nobody@test.example", "Wrong-guess-123", "192.0.2.44")
    assert len(calls) == 1
    inactive = make_user("bureau")
    inactive.active = False
    calls.clear()
    _attempt(client, inactive.email, "Wrong-guess-123", "192.0.2.45")
    assert len(calls) == 1
