"""Qualifications held, applications (申报) and stage transitions on both chains."""

from __future__ import annotations

from datetime import date, datetime

from sqlalchemy import ForeignKey, Index, String, Text
from sqlalchemy.orm import Mapped, mapped_column, relationship

from tracker.clock import now_utc
from tracker.extensions import db
from tracker.models_base import UTCDateTime

#: the application pipeline of design.md, in order
APPLICATION_STATUSES = {
    "planned": "计划申报",
    "preparing": "准备材料",
    "submitted": "已提交",
    "approved": "已通过",
    "rejected": "未通过",
    "withdrawn": "已撤回",
}


class Qualification(db.Model):
    """A rung held: kind, number, dates, batch; expiry is derived from valid_until."""

    __tablename__ = "qualifications"
    __table_args__ = (
        Index("ix_qualifications_enterprise_kind", "enterprise_id", "kind"),
        Index("ix_qualifications_valid_until", "valid_until"),
    )

    id: Mapped[int] = mapped_column(primary_key=True)
    enterprise_id: Mapped[int] = mapped_column(ForeignKey("enterprises.id"))
    #: rung code from tracker.ladder.rules.KINDS
    kind: Mapped[str] = mapped_column(String(30))
    #: certificate / registration number (HNTE: GR…; tech SME: 入库登记编号)
    number: Mapped[str | None] = mapped_column(String(60), index=True)
    granted_on: Mapped[date] = mapped_column()
    #: last day of validity; None when unknown (Tianjin ladder titles until set per batch)
    valid_until: Mapped[date | None] = mapped_column()
    batch: Mapped[str | None] = mapped_column(String(100))
    #: set when the status was revoked (撤销/取消), with why
    revoked_on: Mapped[date | None] = mapped_column()
    revoked_reason: Mapped[str | None] = mapped_column(Text)
    #: stored evidence file (relative to UPLOAD_DIR) and its original name
    evidence_path: Mapped[str | None] = mapped_column(String(300))
    evidence_name: Mapped[str | None] = mapped_column(String(200))
    #: manual, import, application
    source: Mapped[str] = mapped_column(String(20), default="manual")
    created_at: Mapped[datetime] = mapped_column(UTCDateTime, default=now_utc)
    version: Mapped[int] = mapped_column(default=1)

    __mapper_args__ = {"version_id_col": version}

    enterprise = relationship("Enterprise")

    def status_on(self, day: date) -> str:
        """valid, expired or revoked on `day` (derived, never typed in)."""
        if self.revoked_on is not None and self.revoked_on <= day:
            return "revoked"
        if self.valid_until is not None and day > self.valid_until:
            return "expired"
        if day < self.granted_on:
            return "pending"
        return "valid"


class Application(db.Model):
    """申报: an enterprise's bid for a rung in a year and batch; the CRM's deal pipeline."""

    __tablename__ = "applications"

    id: Mapped[int] = mapped_column(primary_key=True)
    enterprise_id: Mapped[int] = mapped_column(ForeignKey("enterprises.id"), index=True)
    kind: Mapped[str] = mapped_column(String(30))
    year: Mapped[int] = mapped_column()
    batch: Mapped[str | None] = mapped_column(String(100))
    status: Mapped[str] = mapped_column(String(20), default="planned", index=True)
    owner_id: Mapped[int | None] = mapped_column(ForeignKey("users.id"))
    deadline: Mapped[date | None] = mapped_column()
    notes: Mapped[str | None] = mapped_column(Text)
    #: the qualification created when the application was approved
    qualification_id: Mapped[int | None] = mapped_column(ForeignKey("qualifications.id"))
    created_at: Mapped[datetime] = mapped_column(UTCDateTime, default=now_utc)
    updated_at: Mapped[datetime] = mapped_column(UTCDateTime, default=now_utc, onupdate=now_utc)
    version: Mapped[int] = mapped_column(default=1)

    __mapper_args__ = {"version_id_col": version}

    enterprise = relationship("Enterprise")
    owner = relationship("User")
    qualification = relationship("Qualification")


class StageTransition(db.Model):
    """A move on either chain: from, to, when, who, why and evidence."""

    __tablename__ = "stage_transitions"
    __table_args__ = (Index("ix_stage_transitions_enterprise_on", "enterprise_id", "effective_on"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    enterprise_id: Mapped[int] = mapped_column(ForeignKey("enterprises.id"))
    #: "ladder" or "incubation"
    chain: Mapped[str] = mapped_column(String(20))
    from_stage: Mapped[str | None] = mapped_column(String(30))
    to_stage: Mapped[str | None] = mapped_column(String(30))
    effective_on: Mapped[date] = mapped_column()
    recorded_at: Mapped[datetime] = mapped_column(UTCDateTime, default=now_utc)
    actor_id: Mapped[int | None] = mapped_column(ForeignKey("users.id"))
    #: manual, import, application, tenancy, expiry, revocation
    source: Mapped[str] = mapped_column(String(30))
    reason: Mapped[str | None] = mapped_column(Text)
    evidence: Mapped[str | None] = mapped_column(Text)
    qualification_id: Mapped[int | None] = mapped_column(ForeignKey("qualifications.id"))
    tenancy_id: Mapped[int | None] = mapped_column(ForeignKey("tenancies.id"))

    actor = relationship("User")
