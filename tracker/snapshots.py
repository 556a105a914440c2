"""Full-register figures (dashboard, board counts) kept minutes per scope, shown with age.

The dashboard's full-register aggregates (firms per zone and rung, titles held, candidates per
rung) cost as much as the register is large, and everybody lands on this page. Each worker keeps
the last answer per (figure, scope) for DASHBOARD_CACHE_SECONDS; the page says how old the
figures are. 0 turns the cache off (tests compare against fresh queries).

A kept answer also carries the counts version it was computed under: every commit that changes
counted records (the after-save pipeline's watched records, stored eligibility results) adds one
to the counts_version counter as the last write of its transaction (`bump` notes it; the commit
hook applies it), so every worker sees the change on its next request (one primary-key read per
request) instead of after the age limit.

One counter row, not an append-only log: the row lock orders the increments as the commits, so
a version read says exactly which commits it includes. (max(id) of rows inserted during each
transaction did not: a commit landing after a newer id was read left that version looking
current without its change.) A save takes the row lock at its commit (or, reaching back into
a stored month, at its month-counts stage: dashboard.redo), after every other lock.
"""

from __future__ import annotations

import threading
from collections.abc import Callable
from datetime import datetime, timedelta
from typing import Any, TypeVar

from flask import current_app, has_request_context, request
from sqlalchemy import BigInteger, ColumnElement, select
from sqlalchemy.orm import Mapped, mapped_column

from tracker.accounts.roles import GLOBAL_READ_ROLES, Role
from tracker.clock import now_utc
from tracker.extensions import db
from tracker.models_base import UTCDateTime

T = TypeVar("T")

_store: dict[tuple[Any, ...], tuple[datetime, int, Any]] = {}
_lock = threading.Lock()


class CountsVersion(db.Model):
    """The one row counting commits that changed counted records: its value is the version."""

    __tablename__ = "counts_version"

    id: Mapped[int] = mapped_column(primary_key=True, autoincrement=False)
    value: Mapped[int] = mapped_column(BigInteger)
    at: Mapped[datetime] = mapped_column(UTCDateTime, default=now_utc)


_ROW = 1
#: session.info: the transaction whose commit adds one to the version
_PENDING_KEY = "counts_version_bump"


def bump() -> None:
    """Counted records change in this transaction: kept figures are stale once it commits.

    Noted only; the commit applies it (`apply_bump`, from tracker.changes' commit hook), so
    the counter's row lock is taken last and held for the commit alone.
    """
    session = db.session()
    session.info[_PENDING_KEY] = session.get_transaction()


def _upsert(add: int) -> Any:
    """The counter row plus `add` (inserted as `add` when missing), locked until commit."""
    from tracker.extensions import conflict_insert

    table = CountsVersion.__table__
    stamp = now_utc()
    statement = conflict_insert(table).values(id=_ROW, value=add, at=stamp)
    return statement.on_conflict_do_update(index_elements=[table.c.id],
                                           set_={"value": table.c.value + add, "at": stamp})


def discard_bump(session: Any) -> None:
    """After a rollback: a bump noted in the transaction that ended is not applied."""
    session.info.pop(_PENDING_KEY, None)


def apply_bump(session: Any) -> None:
    """At commit (the changes hook, after every stage): add one if this transaction bumped."""
    noted = session.info.pop(_PENDING_KEY, None)
    if noted is not None and noted is session.get_transaction():
        session.execute(_upsert(1))


def lock() -> None:
    """Wait for every commit applying a bump, and hold them off until this transaction ends
    (the row lock, value unchanged): what a writer reads after this includes every commit
    whose version it could see (the month-end writer and a backdated save, see dashboard.redo).
    SQLite: its one write lock does this already."""
    db.session.execute(_upsert(0))


def current_version() -> int:
    """The newest committed counts version (this transaction's own bump is not applied yet)."""
    return db.session.scalar(select(CountsVersion.value).where(CountsVersion.id == _ROW)) or 0


#: request.environ: the counts version this request read (kept on the request, not on `g`:
#: tests run many requests in one app context)
_REQUEST_KEY = "tracker.counts_version"


def version_column() -> ColumnElement[int]:
    """The current counts version as a column of another query: the user lookup every signed-in
    request makes reads it too (`remember`), so a page with kept figures needs no query of its
    own for it."""
    return (select(CountsVersion.value).where(CountsVersion.id == _ROW)
            .scalar_subquery().label("counts_version"))


def remember(found: int | None) -> None:
    """This request's counts version, read with another query (`version_column`)."""
    if has_request_context():
        request.environ[_REQUEST_KEY] = found or 0


def version() -> int:
    """The current counts version (read once per request, before anything is computed)."""
    if has_request_context() and _REQUEST_KEY in request.environ:
        return request.environ[_REQUEST_KEY]
    found = current_version()
    remember(found)
    return found


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
