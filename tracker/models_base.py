"""Column helpers shared by every feature's models."""

from __future__ import annotations

from datetime import datetime

from sqlalchemy import DateTime, TypeDecorator

from tracker.clock import as_utc


class UTCDateTime(TypeDecorator):
    """Timezone-aware UTC datetimes on every backend (SQLite drops the zone)."""

    impl = DateTime(timezone=True)
    cache_ok = True

    def process_bind_param(self, value: datetime | None, dialect):
        return as_utc(value)

    def process_result_value(self, value: datetime | None, dialect):
        return as_utc(value)
