"""Audit events: who changed what, when, with each field's before and after."""

from __future__ import annotations

from datetime import datetime

from sqlalchemy import JSON, ForeignKey, Index, String, Text, event
from sqlalchemy.orm import Mapped, Session, mapped_column, relationship

from tracker.clock import now_utc
from tracker.extensions import db
from tracker.models_base import UTCDateTime


class AuditEvent(db.Model):
    __tablename__ = "audit_events"
    __table_args__ = (
        Index("ix_audit_events_entity", "entity_type", "entity_id"),
        Index("ix_audit_events_enterprise_at", "enterprise_id", "at"),
    )

    id: Mapped[int] = mapped_column(primary_key=True)
    at: Mapped[datetime] = mapped_column(UTCDateTime, default=now_utc)
    #: None when the system acted (a sweep, an import run from the shell)
    actor_id: Mapped[int | None] = mapped_column(ForeignKey("users.id"))
    #: e.g. "enterprise", "contact", "metrics", "qualification", "tenancy"
    entity_type: Mapped[str] = mapped_column(String(40))
    entity_id: Mapped[int | None] = mapped_column()
    #: the firm the change belongs to, so its page can show one timeline
    enterprise_id: Mapped[int | None] = mapped_column()
    #: create, update, archive, restore, delete, approve ...
    action: Mapped[str] = mapped_column(String(30))
    #: {field: [before, after]}
    changes: Mapped[dict] = mapped_column(JSON, default=dict)
    summary: Mapped[str | None] = mapped_column(Text)
    #: how the change came in when not through the pages: "api-token:<id> <name>"
    channel: Mapped[str | None] = mapped_column(String(120))
    #: the bulk action (or merge) this event was part of: one id shared by all its events
    batch_id: Mapped[str | None] = mapped_column(String(36), index=True)

    actor = relationship("User")


class AuditIsAppendOnly(RuntimeError):
    """Raised when code tries to change or delete history."""


@event.listens_for(Session, "before_flush")
def _refuse_audit_edits(session: Session, flush_context, instances) -> None:
    for obj in list(session.dirty) + list(session.deleted):
        if isinstance(obj, AuditEvent) and (obj in session.deleted or session.is_modified(obj)):
            raise AuditIsAppendOnly("audit events cannot be changed or deleted")
