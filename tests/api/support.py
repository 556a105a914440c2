"""Helpers for the API tests: a Bearer header for a user, and the error shape."""

from __future__ import annotations

from typing import Any

from tracker.accounts import api_tokens


def bearer(user: Any, **kwargs: Any) -> dict[str, str]:
    """An Authorization header with a fresh token of `user` (flushed, not committed)."""
    token, _row = api_tokens.issue(user, **kwargs)
    return {"Authorization": f"Bearer {token}"}


def error_of(response) -> dict[str, Any]:
    """The error object of an answer, checking it has the one shape of the API."""
    assert response.is_json, response.get_data(as_text=True)[:300]
    body = response.get_json()
    assert set(body) == {"error"}, body
    assert set(body["error"]) == {"code", "message", "fields"}, body
    assert isinstance(body["error"]["fields"], dict)
    return body["error"]
