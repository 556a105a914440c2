"""Qualifications held, applications (申报) and stage transitions on both chains."""

from __future__ import annotations

from datetime import date, datetime

from sqlalchemy import (
    JSON,
    ColumnElement,
    ForeignKey,
    Index,
    String,
    Text,
    UniqueConstraint,
    and_,
    func,
    or_,
    text,
)
from sqlalchemy.orm import Mapped, mapped_column, relationship

from tracker.clock import now_utc
from tracker.extensions import db
from tracker.ladder import validity
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

#: allowed moves of an application; approved, rejected and withdrawn are final
APPLICATION_TRANSITIONS: dict[str, tuple[str, ...]] = {
    "planned": ("preparing", "withdrawn"),
    "preparing": ("submitted", "planned", "withdrawn"),
    "submitted": ("approved", "rejected", "withdrawn"),
    "approved": (),
    "rejected": (),
    "withdrawn": (),
}
OPEN_APPLICATION_STATUSES = ("planned", "preparing", "submitted")

QUALIFICATION_STATUSES = {
    "valid": "有效",
    "expired": "已过期",
    "revoked": "已撤销",
    "pending": "未生效",
}


class Qualification(db.Model):
    """A rung held: kind, number, dates, batch; expiry is derived from valid_until."""

    __tablename__ = "qualifications"
    __table_args__ = (
        Index("ix_qualifications_enterprise_kind", "enterprise_id", "kind"),
        Index("ix_qualifications_valid_until", "valid_until"),
        # Titles valid on a day (the dashboard's holders per kind, the expiring-titles chart):
        # read off this index alone, without the wide rows (evidence, reasons).
        Index("ix_qualifications_validity_cover", "valid_until", "granted_on", "revoked_on",
              "kind", "enterprise_id"),
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
    #: who revoked it (None when an import or the system did)
    revoked_by_id: Mapped[int | None] = mapped_column(ForeignKey("users.id"))
    #: evidence file's content type and size in bytes, checked on upload
    evidence_type: Mapped[str | None] = mapped_column(String(40))
    evidence_size: Mapped[int | None] = mapped_column()
    created_at: Mapped[datetime] = mapped_column(UTCDateTime, default=now_utc)
    #: last write; the invariant checker compares it with EligibilityResult.computed_at
    updated_at: Mapped[datetime] = mapped_column(UTCDateTime, default=now_utc, onupdate=now_utc)
    version: Mapped[int] = mapped_column(default=1)

    __mapper_args__ = {"version_id_col": version}

    enterprise = relationship("Enterprise")

    def status_on(self, day: date) -> str:
        """valid, expired or revoked on `day` (derived, never typed in)."""
        return validity.status_on(self, day)

    @classmethod
    def valid_on(cls, day: date) -> ColumnElement[bool]:
        """SQL: status_on(day) == "valid" (granted by then, not expired, not revoked)."""
        return and_(cls.granted_on <= day, or_(cls.valid_until.is_(None), cls.valid_until >= day),
                    or_(cls.revoked_on.is_(None), cls.revoked_on > day))


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


class EligibilityResult(db.Model):
    """The engine's stored verdict for one enterprise and rung, recomputed when data changes."""

    __tablename__ = "eligibility_results"
    __table_args__ = (
        UniqueConstraint("enterprise_id", "kind"),
        Index("ix_eligibility_results_kind_verdict", "kind", "verdict"),
        # Near misses are rare (a few per hundred firms): the board walks firms by name and
        # probes this small index instead of every firm's results.
        Index("ix_eligibility_results_near_miss", "enterprise_id", "kind",
              postgresql_where=text("near_miss_code IS NOT NULL"),
              sqlite_where=text("near_miss_code IS NOT NULL")),
        # The dashboard's candidates per kind: the candidate rows alone, without their JSON
        # (the predicate is spelled as the ORM's `candidate.is_(True)` renders on each dialect).
        Index("ix_eligibility_results_candidates", "kind", "enterprise_id",
              postgresql_where=text("candidate IS true"), sqlite_where=text("candidate IS 1")),
        # Half of each page left free: a run that restamps every row (a first run, the fiscal
        # year's switch) writes each new version beside the old one (a HOT update, none of the
        # indexes touched: the stamps are in none), three to five times faster than moving it
        # to another page and inserting it into every index (migration 5b7d2e9c4f10).
        {"postgresql_with": {"fillfactor": 50}},
    )

    id: Mapped[int] = mapped_column(primary_key=True)
    enterprise_id: Mapped[int] = mapped_column(ForeignKey("enterprises.id"))
    kind: Mapped[str] = mapped_column(String(30))
    #: the day the verdict was evaluated for (moves only when the firm is evaluated again)
    as_of: Mapped[date] = mapped_column()
    #: the last day the verdict holds if the facts do not change: the next day the rules read
    #: differently (fiscal year, an age threshold, a title's dates; ladder.facts
    #: .facts_valid_through). None for rows stored before it was kept: good on as_of only
    valid_through: Mapped[date | None] = mapped_column()
    #: eligible, ineligible, insufficient_data, needs_review (eligibility.md)
    verdict: Mapped[str] = mapped_column(String(20))
    score: Mapped[int | None] = mapped_column()
    #: the engine's per-kind result dict, exactly as evaluate() returned it
    result: Mapped[dict] = mapped_column(JSON, default=dict)
    #: code of the single criterion missed by a small margin (gaps.near_miss), for the board
    near_miss_code: Mapped[str | None] = mapped_column(String(40))
    near_miss: Mapped[dict | None] = mapped_column(JSON)
    #: eligible, or only an expert judgement left (not merely unconfigured local thresholds)
    candidate: Mapped[bool] = mapped_column(default=False)
    #: when this rung last became a candidate (None while it is not): "newly eligible" reminders
    candidate_since: Mapped[datetime | None] = mapped_column(UTCDateTime)
    #: number of failed criteria, so the board can sort "closest first"
    failed_count: Mapped[int] = mapped_column(default=0)
    computed_at: Mapped[datetime] = mapped_column(UTCDateTime, default=now_utc)
    #: digest of everything the verdict was computed from (facts but their date, local
    #: thresholds, the rules' code): the same inputs within the window change nothing
    inputs_hash: Mapped[str | None] = mapped_column(String(40))

    enterprise = relationship("Enterprise")

    @classmethod
    def holds_on(cls, day: date) -> ColumnElement[bool]:
        """SQL: the stored verdict holds on `day` (as_of <= day <= valid_through; a row kept
        before windows were, on its as_of only)."""
        return and_(cls.as_of <= day, func.coalesce(cls.valid_through, cls.as_of) >= day)


class LocalThreshold(db.Model):
    """Admin-set thresholds for a rung whose official numbers are unconfirmed (domain.md §3.3)."""

    __tablename__ = "ladder_local_thresholds"

    id: Mapped[int] = mapped_column(primary_key=True)
    #: one of rules.LOCALLY_CONFIGURED_KINDS
    kind: Mapped[str] = mapped_column(String(30), unique=True)
    #: {key: value} with keys from rules.LOCAL_THRESHOLD_KEYS (money in 元)
    values: Mapped[dict] = mapped_column(JSON, default=dict)
    updated_at: Mapped[datetime] = mapped_column(UTCDateTime, default=now_utc, onupdate=now_utc)
    updated_by_id: Mapped[int | None] = mapped_column(ForeignKey("users.id"))
    version: Mapped[int] = mapped_column(default=1)

    __mapper_args__ = {"version_id_col": version}


class LadderBatch(db.Model):
    """A Tianjin ladder batch whose valid-until date an admin sets (validity unconfirmed, §3.5)."""

    __tablename__ = "ladder_batches"
    __table_args__ = (UniqueConstraint("kind", "batch"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    kind: Mapped[str] = mapped_column(String(30))
    batch: Mapped[str] = mapped_column(String(100))
    valid_until: Mapped[date | None] = mapped_column()
    note: Mapped[str | None] = mapped_column(Text)
    updated_at: Mapped[datetime] = mapped_column(UTCDateTime, default=now_utc, onupdate=now_utc)
