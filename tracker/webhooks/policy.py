"""Delivery settings read at run time: the retry window and a claim's lease."""

from __future__ import annotations

from datetime import timedelta
from typing import Any

from flask import current_app


def setting(name: str, default: Any) -> Any:
    return current_app.config.get(name, default)


def retry_window() -> timedelta:
    """How long a transiently failing delivery keeps being retried."""
    return timedelta(hours=float(setting("WEBHOOK_RETRY_HOURS", 24)))


def lease_seconds() -> int:
    """A claim holds for one request's whole deadline plus a margin."""
    return int(float(setting("WEBHOOK_TIMEOUT", 10))) + int(setting("WEBHOOK_LEASE_MARGIN", 60))
