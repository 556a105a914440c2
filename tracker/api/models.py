"""The API's own bookkeeping: the first answer to each Idempotency-Key, per token."""

from __future__ import annotations

from datetime import datetime

from sqlalchemy import JSON, ForeignKey, String, UniqueConstraint
from sqlalchemy.orm import Mapped, mapped_column

from tracker.clock import now_utc
from tracker.extensions import db
from tracker.models_base import UTCDateTime


class IdempotencyKey(db.Model):
    """A POST that created something, remembered so a retry gets the same answer.

    Written in the same transaction as the record it created: either both exist or neither,
    and the unique (token, key) pair makes a racing retry fail at its commit instead of
    creating a second record.
    """

    __tablename__ = "api_idempotency_keys"
    __table_args__ = (UniqueConstraint("token_id", "key"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    token_id: Mapped[int] = mapped_column(ForeignKey("user_tokens.id", ondelete="CASCADE"))
    #: the client's Idempotency-Key header
    key: Mapped[str] = mapped_column(String(255))
    #: SHA-256 of method, path and body: the same key with another request is refused
    request_hash: Mapped[str] = mapped_column(String(64))
    status: Mapped[int] = mapped_column()
    body: Mapped[dict] = mapped_column(JSON)
    #: Location and ETag of the first answer
    headers: Mapped[dict] = mapped_column(JSON, default=dict)
    created_at: Mapped[datetime] = mapped_column(UTCDateTime, default=now_utc)
