"""Webhook endpoints (admin-entered), the events they may receive and the delivery ledger."""

from __future__ import annotations

from datetime import date, datetime

from sqlalchemy import JSON, BigInteger, ForeignKey, Index, Integer, String, Text, UniqueConstraint
from sqlalchemy.orm import Mapped, mapped_column, relationship

from tracker.clock import now_utc
from tracker.extensions import db
from tracker.models_base import UTCDateTime

#: what an endpoint may subscribe to; each is recorded by tracker.webhooks.events
EVENT_TYPES = {
    "qualification.granted": "资质获得",
    "qualification.expired": "资质到期",
    "qualification.revoked": "资质撤销",
    "rung.changed": "梯度变化",
    "tenancy.status_changed": "在孵状态变化",
    "application.decided": "申报结果",
}
#: the "send test event" button's type: never subscribed, sent to one endpoint only
TEST_EVENT = "webhook.test"
#: ledger statuses; only `pending` rows are ever sent
DELIVERY_STATUSES = {
    "pending": "待发送",
    "sending": "发送中",
    "delivered": "已送达",
    "failed": "发送失败",
    "expired": "已过期（未能送达）",
}

#: 64-bit ids where the ledger may grow for years (SQLite keeps INTEGER, the rowid alias)
BigId = BigInteger().with_variant(Integer, "sqlite")


class WebhookEndpoint(db.Model):
    """A URL an admin registered, the secret deliveries are signed with and what it wants."""

    __tablename__ = "webhook_endpoints"

    id: Mapped[int] = mapped_column(primary_key=True)
    #: deliveries go to exactly this URL (http or https); redirects are never followed
    url: Mapped[str] = mapped_column(String(500))
    description: Mapped[str] = mapped_column(String(200), default="")
    #: HMAC-SHA256 key; shown to the admin once, kept to sign every delivery
    secret: Mapped[str] = mapped_column(String(200))
    #: codes from EVENT_TYPES
    events: Mapped[list] = mapped_column(JSON, default=list)
    active: Mapped[bool] = mapped_column(default=True)
    created_by_id: Mapped[int | None] = mapped_column(ForeignKey("users.id"))
    #: events that happened before the endpoint existed are never sent to it
    created_at: Mapped[datetime] = mapped_column(UTCDateTime, default=now_utc)
    updated_at: Mapped[datetime] = mapped_column(UTCDateTime, default=now_utc, onupdate=now_utc)
    version: Mapped[int] = mapped_column(default=1)

    __mapper_args__ = {"version_id_col": version}


class WebhookEvent(db.Model):
    """One thing that happened, once: its public id and the body every delivery carries."""

    __tablename__ = "webhook_events"
    __table_args__ = (
        # one event per subject occurrence: a state change's sequence number, an expiry's date
        UniqueConstraint("type", "subject_type", "subject_id", "occurrence",
                         name="uq_webhook_events_key"),
    )

    id: Mapped[int] = mapped_column(BigId, primary_key=True)
    #: the id receivers see (X-Tracker-Event-Id / "id"): a UUID, unique forever
    public_id: Mapped[str] = mapped_column(String(36), unique=True)
    type: Mapped[str] = mapped_column(String(40))
    subject_type: Mapped[str] = mapped_column(String(20))
    subject_id: Mapped[int] = mapped_column()
    #: what makes this occurrence distinct: "s3" (third state change), "2026-12-01" (expiry)
    occurrence: Mapped[str] = mapped_column(String(60))
    enterprise_id: Mapped[int | None] = mapped_column(ForeignKey("enterprises.id"), index=True)
    occurred_at: Mapped[datetime] = mapped_column(UTCDateTime, default=now_utc)
    #: the resource as it was when the event happened; resends carry the same body
    payload: Mapped[dict] = mapped_column(JSON, default=dict)


class WebhookState(db.Model):
    """The last state of a watched record the pipeline saw, so a change is seen exactly once.

    The pipeline moves it with a guarded UPDATE (`… WHERE seq = <seq read>`): of two
    concurrent commits seeing the same change only one wins the row and records the event.
    """

    __tablename__ = "webhook_states"

    subject_type: Mapped[str] = mapped_column(String(20), primary_key=True)
    subject_id: Mapped[int] = mapped_column(primary_key=True)
    state: Mapped[str] = mapped_column(String(60))
    seq: Mapped[int] = mapped_column(default=0)


class WebhookClock(db.Model):
    """When a clock-driven scan (qualification expiry) last ran, so it looks only since then."""

    __tablename__ = "webhook_clock"

    name: Mapped[str] = mapped_column(String(40), primary_key=True)
    last_run_on: Mapped[date] = mapped_column()


class WebhookDelivery(db.Model):
    """One event for one endpoint, with its delivery status: the exactly-once ledger."""

    __tablename__ = "webhook_deliveries"
    __table_args__ = (
        UniqueConstraint("endpoint_id", "event_id", name="uq_webhook_deliveries_key"),
        Index("ix_webhook_deliveries_status_next", "status", "next_attempt_at"),
        Index("ix_webhook_deliveries_endpoint", "endpoint_id", "id"),
    )

    id: Mapped[int] = mapped_column(BigId, primary_key=True)
    endpoint_id: Mapped[int] = mapped_column(ForeignKey("webhook_endpoints.id",
                                                        ondelete="CASCADE"))
    event_id: Mapped[int] = mapped_column(BigId, ForeignKey("webhook_events.id"), index=True)
    #: one of DELIVERY_STATUSES
    status: Mapped[str] = mapped_column(String(12), default="pending")
    attempts: Mapped[int] = mapped_column(default=0)
    last_error: Mapped[str | None] = mapped_column(Text)
    #: the receiver's last HTTP status (None when no answer came)
    response_code: Mapped[int | None] = mapped_column()
    next_attempt_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
    claimed_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
    #: the sender's claim holds until then (one request's deadline plus a margin); the reaper
    #: takes back only rows whose lease ran out
    lease_until: Mapped[datetime | None] = mapped_column(UTCDateTime)
    delivered_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
    #: a transient failure is retried until then, after which the row is `expired`
    retry_until: Mapped[datetime | None] = mapped_column(UTCDateTime)
    created_at: Mapped[datetime] = mapped_column(UTCDateTime, default=now_utc)

    endpoint = relationship("WebhookEndpoint")
    event = relationship("WebhookEvent")
