"""Flask's own refusals under /api/ (an unknown URL, a wrong method, a record that is not there)
answer like every other API error: the JSON shape, in the caller's language (Accept-Language,
then the token owner's, else Chinese), and a 405 says which methods the URL takes."""

from __future__ import annotations

import re

import pytest

from tests.api.support import bearer, error_of
from tests.factories import make_user

HAN = re.compile(r"[\u4e00-\u9fff]")

#: (method, URL, status, code): Flask raises each of these itself, no view of ours runs
REFUSALS = [
    ("get", "/api/v1/no-such-thing", 404, "not_found"),
    ("get", "/api/no-such-version/enterprises", 404, "not_found"),
    ("get", "/api/v1/enterprises/987654321", 404, "not_found"),
    ("delete", "/api/v1/eligibility/evaluate", 405, "method_not_allowed"),
    ("put", "/api/v1/openapi.json", 405, "method_not_allowed"),
]


def _ask(client, method: str, url: str, headers: dict[str, str]):
    return getattr(client, method)(url, headers=headers)


@pytest.mark.parametrize(("method", "url", "status", "code"), REFUSALS)
def test_chinese_by_default(client, method, url, status, code):
    response = _ask(client, method, url, bearer(make_user("bureau")))
    error = error_of(response)
    assert (response.status_code, error["code"]) == (status, code)
    assert HAN.search(error["message"]), error


@pytest.mark.parametrize(("method", "url", "status", "code"), REFUSALS)
@pytest.mark.parametrize("how", ["accept-language", "token owner"])
def test_english_for_an_english_caller(client, method, url, status, code, how):
    if how == "accept-language":
        headers = {**bearer(make_user("bureau")), "Accept-Language": "en"}
    else:
        headers = bearer(make_user("bureau", locale="en"))
    response = _ask(client, method, url, headers)
    error = error_of(response)
    assert (response.status_code, error["code"]) == (status, code)
    assert error["message"] and not HAN.search(error["message"]), error


def test_a_wrong_method_says_which_ones_the_url_takes(client):
    headers = {**bearer(make_user("bureau")), "Accept-Language": "en"}
    response = client.delete("/api/v1/eligibility/evaluate", headers=headers)
    assert response.status_code == 405
    assert "POST" in {m.strip() for m in response.headers["Allow"].split(",")}
    message = error_of(response)["message"]
    assert "DELETE" in message and "POST" in message, message


def test_the_api_root_without_a_slash_is_an_api_url_too(client):
    response = client.get("/api", headers=bearer(make_user("bureau")))
    assert response.status_code == 404
    assert error_of(response)["code"] == "not_found"
