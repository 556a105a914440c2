"""Full-register figures (dashboard, board counts) kept minutes per scope, shown with age.

The dashboard's full-register aggregates (firms per zone and rung, titles held, candidates per
rung) cost as much as the register is large, and everybody lands on this page. Each worker keeps
the last answer per (figure, scope) for DASHBOARD_CACHE_SECONDS; the page says how old the
figures are. 0 turns the cache off (tests compare against fresh queries).
"""

from __future__ import annotations

import threading
from collections.abc import Callable
from datetime import datetime, timedelta
from typing import Any, TypeVar

from flask import current_app

from tracker.accounts.roles import GLOBAL_READ_ROLES, Role
from tracker.clock import now_utc

T = TypeVar("T")

_store: dict[tuple[Any, ...], tuple[datetime, Any]] = {}
_lock = threading.Lock()


def scope_key(user: Any) -> tuple[Any, ...]:
    """Users who see the same firms share figures (accounts.scope's rules, by role)."""
    if user.role in GLOBAL_READ_ROLES:
        return ("all",)
    if user.role == Role.ZONE:
        return ("zone", user.zone)
    if user.role == Role.CARRIER_MANAGER:
        return ("carrier", user.carrier_id)
    return ("user", user.id)


def cached(name: str, user: Any, compute: Callable[[], T]) -> tuple[T, datetime]:
    """`compute()` for this scope, or its answer from less than DASHBOARD_CACHE_SECONDS ago.

    Returns the value and when it was computed. Values must be plain data (no ORM rows).
    """
    max_age = current_app.config.get("DASHBOARD_CACHE_SECONDS", 0)
    now = now_utc()
    if max_age <= 0:
        return compute(), now
    key = (name, *scope_key(user))
    with _lock:
        hit = _store.get(key)
    if hit is not None and now - hit[0] < timedelta(seconds=max_age):
        return hit[1], hit[0]
    value = compute()
    with _lock:
        _store[key] = (now, value)
    return value, now


def clear() -> None:
    """Forget every cached figure (tests; an admin changing targets)."""
    with _lock:
        _store.clear()
