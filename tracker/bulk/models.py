"""The record of a merge: what each side looked like and which rows moved, so it can be undone."""

from __future__ import annotations

from datetime import datetime

from sqlalchemy import JSON, ForeignKey, String
from sqlalchemy.orm import Mapped, mapped_column, relationship

from tracker.clock import now_utc
from tracker.extensions import db
from tracker.models_base import UTCDateTime


class MergeRecord(db.Model):
    """Two firms merged into one; `undone_at` set once the merge was reversed."""

    __tablename__ = "merge_records"

    id: Mapped[int] = mapped_column(primary_key=True)
    #: the record that stays (receives every child row)
    survivor_id: Mapped[int] = mapped_column(ForeignKey("enterprises.id"), index=True)
    #: the record merged away (archived, merged_into_id set; never deleted)
    loser_id: Mapped[int] = mapped_column(ForeignKey("enterprises.id"), index=True)
    at: Mapped[datetime] = mapped_column(UTCDateTime, default=now_utc)
    actor_id: Mapped[int | None] = mapped_column(ForeignKey("users.id"))
    #: the audit batch id shared by every event the merge (and its undo) recorded
    batch_id: Mapped[str] = mapped_column(String(36))
    #: {field: "survivor" | "loser"} as chosen on the side-by-side form, plus {"year:2024": …}
    choices: Mapped[dict] = mapped_column(JSON, default=dict)
    #: every column of both enterprise rows before the merge
    survivor_before: Mapped[dict] = mapped_column(JSON, default=dict)
    loser_before: Mapped[dict] = mapped_column(JSON, default=dict)
    #: {table: [row ids]} moved from the loser to the survivor
    moved: Mapped[dict] = mapped_column(JSON, default=dict)
    #: {table: [full rows]} removed because the other side's row won a unique conflict
    #: (the same fiscal year's figures on both): put back by an undo
    removed: Mapped[dict] = mapped_column(JSON, default=dict)
    #: both firms' ladder moves before the merge (the rebuild afterwards rewrites them)
    ladder_before: Mapped[list] = mapped_column(JSON, default=list)
    undone_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
    undone_by_id: Mapped[int | None] = mapped_column(ForeignKey("users.id"))

    survivor = relationship("Enterprise", foreign_keys=[survivor_id])
    loser = relationship("Enterprise", foreign_keys=[loser_id])
    actor = relationship("User", foreign_keys=[actor_id])
