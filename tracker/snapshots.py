"""Full-register figures (dashboard, board counts) kept minutes per scope, shown with age.

The dashboard's full-register aggregates (firms per zone and rung, titles held, candidates per
rung) cost as much as the register is large, and everybody lands on this page. Each worker keeps
the last answer per (figure, scope) for DASHBOARD_CACHE_SECONDS; the page says how old the
figures are. 0 turns the cache off (tests compare against fresh queries).

A kept answer also carries the counts version it was computed under: every commit that changes
counted records (the after-save pipeline's watched records, stored eligibility results) adds a
row to counts_versions in the same transaction, so every worker sees the change on its next
request (one indexed max(id) per request) instead of after the age limit.
"""

from __future__ import annotations

import threading
from collections.abc import Callable
from datetime import datetime, timedelta
from typing import Any, TypeVar

from flask import current_app, g, has_request_context
from sqlalchemy import func, insert, select
from sqlalchemy.orm import Mapped, mapped_column

from tracker.accounts.roles import GLOBAL_READ_ROLES, Role
from tracker.clock import now_utc
from tracker.extensions import db
from tracker.models_base import UTCDateTime

T = TypeVar("T")

_store: dict[tuple[Any, ...], tuple[datetime, int, Any]] = {}
_lock = threading.Lock()
#: counts_versions rows kept by prune() (only the newest id matters)
KEEP_VERSIONS = 1000


class CountsVersion(db.Model):
    """One row per commit that changed counted records; the newest id is the figures' version.

    Append-only, so concurrent writers never wait on each other for it.
    """

    __tablename__ = "counts_versions"

    id: Mapped[int] = mapped_column(primary_key=True)
    at: Mapped[datetime] = mapped_column(UTCDateTime, default=now_utc)


#: session.info: (transaction, the counts version before its first bump)
_BEFORE_KEY = "counts_version_before"


def bump() -> None:
    """Counted records change in this transaction: kept figures are stale once it commits."""
    session = db.session()
    transaction = session.get_transaction()
    noted = session.info.get(_BEFORE_KEY)
    if noted is None or noted[0] is not transaction:
        session.info[_BEFORE_KEY] = (transaction, current_version())
    db.session.execute(insert(CountsVersion).values(at=now_utc()))


def current_version() -> int:
    """The newest counts version this transaction sees (not the per-request copy)."""
    return db.session.scalar(select(func.max(CountsVersion.id))) or 0


def version_before_transaction() -> int:
    """The counts version before this transaction's first bump (the current one without).

    The maintained aggregates compare it with the version they were counted under: equal
    means every earlier counted change was recounted.
    """
    session = db.session()
    noted = session.info.get(_BEFORE_KEY)
    if noted is not None and noted[0] is session.get_transaction():
        return noted[1]
    return current_version()


def version() -> int:
    """The current counts version (read once per request)."""
    if has_request_context() and "counts_version" in g:
        return g.counts_version
    found = db.session.scalar(select(func.max(CountsVersion.id))) or 0
    if has_request_context():
        g.counts_version = found
    return found


def prune() -> int:
    """Drop old version rows (maintenance); returns how many went."""
    newest = db.session.scalar(select(func.max(CountsVersion.id))) or 0
    gone = db.session.execute(CountsVersion.__table__.delete().where(
        CountsVersion.id <= newest - KEEP_VERSIONS))
    return gone.rowcount or 0


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
    """`compute()` for this scope, or its answer from less than DASHBOARD_CACHE_SECONDS ago
    when no counted record changed since.

    Returns the value and when it was computed. Values must be plain data (no ORM rows).
    """
    max_age = current_app.config.get("DASHBOARD_CACHE_SECONDS", 0)
    now = now_utc()
    if max_age <= 0:
        return compute(), now
    key = (name, *scope_key(user))
    current = version()  # read before computing: a commit after this makes the answer stale
    with _lock:
        hit = _store.get(key)
    if hit is not None and hit[1] == current and now - hit[0] < timedelta(seconds=max_age):
        return hit[2], hit[0]
    value = compute()
    with _lock:
        _store[key] = (now, current, value)
    return value, now


def clear() -> None:
    """Forget every cached figure (tests; an admin changing targets)."""
    with _lock:
        _store.clear()
