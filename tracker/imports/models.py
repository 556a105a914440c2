"""Import jobs, the per-row before/after snapshots that make undo possible, mapping presets."""

from __future__ import annotations

from datetime import datetime

from sqlalchemy import JSON, ForeignKey, Index, String, Text, UniqueConstraint
from sqlalchemy.orm import Mapped, mapped_column, relationship

from tracker.clock import now_utc
from tracker.extensions import db
from tracker.jobs import JobMixin
from tracker.models_base import UTCDateTime

IMPORT_KINDS = {
    "enterprises": "企业名单",
    "qualifications": "资质名单",
    "tenancies": "入驻名单",
}
JOB_STATUSES = {
    "uploaded": "待映射",
    "queued": "排队中",
    "running": "处理中",
    "previewed": "已试运行",
    "done": "已导入",
    "rejected": "未导入（有错误）",
    "failed": "失败",
    "cancelled": "已取消",
    "undone": "已撤销",
}


class ImportJob(JobMixin, db.Model):
    """One uploaded file and what happened to it: preview, run, counts, errors, undo.

    Queued runs follow the job state machine of `tracker.jobs` (queued → running → previewed,
    done or rejected | failed | cancelled).
    """

    __tablename__ = "import_jobs"
    __table_args__ = (Index("ix_import_jobs_created", "created_at", "id"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    kind: Mapped[str] = mapped_column(String(20))
    #: the name the user's file had; the stored copy lives at UPLOAD_DIR/stored_path
    filename: Mapped[str] = mapped_column(String(255))
    stored_path: Mapped[str] = mapped_column(String(300))
    created_by_id: Mapped[int | None] = mapped_column(ForeignKey("users.id"), index=True)
    status: Mapped[str] = mapped_column(String(20), default="uploaded")
    #: True while the counts below come from a dry run (nothing written)
    dry_run: Mapped[bool] = mapped_column(default=True)
    #: mapping {header: field}, year, keep_valid, qualification kind, pending mode
    options: Mapped[dict] = mapped_column(JSON, default=dict)
    #: the header row as read, for the mapping page
    headers: Mapped[list] = mapped_column(JSON, default=list)
    rows: Mapped[int] = mapped_column(default=0)
    valid: Mapped[int] = mapped_column(default=0)
    created: Mapped[int] = mapped_column(default=0)
    updated: Mapped[int] = mapped_column(default=0)
    unchanged: Mapped[int] = mapped_column(default=0)
    #: [{"row", "column", "value", "message"}] in file order
    errors: Mapped[list] = mapped_column(JSON, default=list)
    #: implausible figures, same shape as errors; the real run waits until they are accepted
    warnings: Mapped[list | None] = mapped_column(JSON, default=list)
    #: fields the (dry) run changes: [{"row", "entity", "field", "label", "old", "new"}]
    preview: Mapped[list | None] = mapped_column(JSON, default=list)
    #: why the whole file failed (unreadable, too large ...)
    message: Mapped[str | None] = mapped_column(Text)
    created_at: Mapped[datetime] = mapped_column(UTCDateTime, default=now_utc)
    finished_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
    undone_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
    undone_by_id: Mapped[int | None] = mapped_column(ForeignKey("users.id"))

    created_by = relationship("User", foreign_keys=[created_by_id])
    undone_by = relationship("User", foreign_keys=[undone_by_id])

    @property
    def rejected(self) -> int:
        return max(self.rows - self.valid, 0)

    def counts(self) -> dict:
        """The CLI/API result shape (issue 6 contract)."""
        return {"rows": self.rows, "valid": self.valid, "created": self.created,
                "updated": self.updated, "unchanged": self.unchanged,
                "errors": list(self.errors or [])}


class ImportChange(db.Model):
    """One record an import created or changed, with its fields before and after (for undo)."""

    __tablename__ = "import_changes"
    __table_args__ = (Index("ix_import_changes_job_id", "job_id", "id"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    job_id: Mapped[int] = mapped_column(ForeignKey("import_jobs.id"))
    #: spreadsheet row number as Excel shows it
    row: Mapped[int] = mapped_column()
    #: enterprise, contact, metrics, qualification, tenancy
    entity_type: Mapped[str] = mapped_column(String(20))
    entity_id: Mapped[int] = mapped_column()
    enterprise_id: Mapped[int | None] = mapped_column()
    #: create or update
    action: Mapped[str] = mapped_column(String(10))
    before: Mapped[dict] = mapped_column(JSON, default=dict)
    after: Mapped[dict] = mapped_column(JSON, default=dict)


class MappingPreset(db.Model):
    """A saved header→field mapping, offered again for the next file of the same kind."""

    __tablename__ = "import_mapping_presets"
    __table_args__ = (UniqueConstraint("kind", "name"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    kind: Mapped[str] = mapped_column(String(20))
    name: Mapped[str] = mapped_column(String(100))
    #: {header text: field key}
    mapping: Mapped[dict] = mapped_column(JSON, default=dict)
    created_by_id: Mapped[int | None] = mapped_column(ForeignKey("users.id"))
    created_at: Mapped[datetime] = mapped_column(UTCDateTime, default=now_utc)
