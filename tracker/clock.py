"""The one place that reads the wall clock, so tests and plans can freeze it."""

from __future__ import annotations

from contextlib import contextmanager
from datetime import UTC, date, datetime
from zoneinfo import ZoneInfo

LOCAL_TZ = ZoneInfo("Asia/Shanghai")
_frozen: datetime | None = None


def now_utc() -> datetime:
    """Timezone-aware current time in UTC (what the database stores)."""
    if _frozen is not None:
        return _frozen
    return datetime.now(UTC)


def now_local() -> datetime:
    return now_utc().astimezone(LOCAL_TZ)


def today() -> date:
    """Today's date in Asia/Shanghai: deadlines are Beijing-time dates."""
    return now_local().date()


def as_utc(value: datetime | None) -> datetime | None:
    """Treat naive datetimes read back from SQLite as UTC."""
    if value is None:
        return None
    if value.tzinfo is None:
        return value.replace(tzinfo=UTC)
    return value.astimezone(UTC)


def to_local(value: datetime | None) -> datetime | None:
    value = as_utc(value)
    return value.astimezone(LOCAL_TZ) if value else None


@contextmanager
def frozen(at: datetime | date):
    """Freeze the clock (a date means local midnight + 9h, a working morning)."""
    global _frozen
    if not isinstance(at, datetime):
        at = datetime(at.year, at.month, at.day, 9, 0, tzinfo=LOCAL_TZ)
    if at.tzinfo is None:
        at = at.replace(tzinfo=UTC)
    previous, _frozen = _frozen, at.astimezone(UTC)
    try:
        yield _frozen
    finally:
        _frozen = previous
