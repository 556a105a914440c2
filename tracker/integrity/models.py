"""The stored outcome of each invariant check run, so the admin sees the last one."""

from __future__ import annotations

from datetime import datetime

from sqlalchemy import JSON, Index, String
from sqlalchemy.orm import Mapped, mapped_column

from tracker.clock import now_utc
from tracker.extensions import db
from tracker.models_base import UTCDateTime


class IntegrityRun(db.Model):
    """One run of `flask check` (nightly or by hand): what was checked and what was wrong."""

    __tablename__ = "integrity_runs"
    __table_args__ = (Index("ix_integrity_runs_started", "started_at"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    started_at: Mapped[datetime] = mapped_column(UTCDateTime, default=now_utc)
    finished_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
    #: beat, cli
    trigger: Mapped[str] = mapped_column(String(20), default="beat")
    ok: Mapped[bool] = mapped_column(default=True)
    #: {invariant: rows checked}
    checked: Mapped[dict] = mapped_column(JSON, default=dict)
    #: [{"invariant", "subject", "detail"}], capped at STORED_VIOLATIONS
    violations: Mapped[list] = mapped_column(JSON, default=list)
    #: how many violations there were in all (the stored list may be cut short)
    violation_count: Mapped[int] = mapped_column(default=0)
