"""The API's error messages in the caller's language: Accept-Language first, then the token
user's own language (as pages use it), else Chinese; through the one translation catalogue."""

from __future__ import annotations

import re

import pytest

from tests.api.support import bearer, error_of
from tests.factories import make_user, valid_uscc

HAN = re.compile(r"[\u4e00-\u9fff]")


@pytest.mark.parametrize(("accept", "english"), [
    ("en-US,en;q=0.9", True), ("en", True), ("zh-CN,zh;q=0.9,en;q=0.8", False),
    ("zh", False), (None, False), ("fr", False),
])
def test_a_refusal_follows_accept_language(client, accept, english):
    headers = {"Accept-Language": accept} if accept else {}
    error = error_of(client.get("/api/v1/enterprises", headers=headers))
    assert error["code"] == "unauthorized"
    if english:
        assert not HAN.search(error["message"]), error["message"]
        assert "sign in" in error["message"].lower() or "token" in error["message"].lower()
    else:
        assert error["message"] == "请先登录，或使用 API 令牌（Authorization: Bearer）"


def test_the_token_users_language_without_accept_language(client):
    english = make_user("viewer", locale="en")
    response = client.post("/api/v1/enterprises", headers=bearer(english),
                           json={"uscc": valid_uscc(), "name": "天津科技有限公司",
                                 "zone": "hitech"})
    error = error_of(response)
    assert response.status_code == 403 and not HAN.search(error["message"]), error
    chinese = make_user("viewer")
    response = client.post("/api/v1/enterprises", headers=bearer(chinese),
                           json={"uscc": valid_uscc(), "name": "天津科技有限公司",
                                 "zone": "hitech"})
    assert HAN.search(error_of(response)["message"])
    # the request's own header wins over the user's setting
    response = client.post("/api/v1/enterprises",
                           headers={**bearer(english), "Accept-Language": "zh-CN"},
                           json={"uscc": valid_uscc(), "name": "天津科技有限公司",
                                 "zone": "hitech"})
    assert HAN.search(error_of(response)["message"])


def test_field_messages_and_filled_in_messages_are_english_too(client, app):
    headers = {**bearer(make_user("zone", zone="hitech")), "Accept-Language": "en"}
    response = client.post("/api/v1/enterprises", headers=headers, json={
        "uscc": valid_uscc(), "name": "天津别区科技有限公司", "zone": "teda"})
    error = error_of(response)
    assert response.status_code == 422
    assert not HAN.search(error["message"]) and not HAN.search(error["fields"]["zone"]), error
    app.config["API_RATE_LIMIT"], limit = 1, app.config.get("API_RATE_LIMIT")
    try:
        client.get("/api/v1/reminders", headers=headers)
        refused = client.get("/api/v1/reminders", headers=headers)
    finally:
        app.config["API_RATE_LIMIT"] = limit
    assert refused.status_code == 429
    message = error_of(refused)["message"]
    assert not HAN.search(message) and "1" in message, message
