"""User accounts, their server-side sessions and tokens, and the login-attempt log."""

from __future__ import annotations

import contextlib
from datetime import datetime

from argon2 import PasswordHasher
from argon2.exceptions import InvalidHashError, VerificationError
from flask import current_app, has_app_context
from flask_login import UserMixin
from sqlalchemy import ForeignKey, Index, String, false
from sqlalchemy.orm import Mapped, mapped_column, relationship

from tracker.accounts.roles import EDITOR_ROLES, Role
from tracker.clock import now_utc
from tracker.extensions import db
from tracker.models_base import UTCDateTime

_DEFAULT_HASHER = PasswordHasher()  # Argon2id with the library's recommended parameters
_FAST_HASHER = PasswordHasher(time_cost=1, memory_cost=1024, parallelism=1)


def _hasher() -> PasswordHasher:
    """Tests may ask for cheap hashes; production always uses the recommended cost."""
    if has_app_context() and current_app.config.get("FAST_PASSWORD_HASHES"):
        return _FAST_HASHER
    return _DEFAULT_HASHER


def hash_password(password: str) -> str:
    """The Argon2 hash to store for `password` (slow by design: tens of milliseconds)."""
    return _hasher().hash(password)


_DUMMY_HASHES: dict[int, str] = {}


def dummy_password_check(password: str) -> None:
    """Spend one verification on a hash no password matches: unknown emails take as long."""
    hasher = _hasher()
    dummy = _DUMMY_HASHES.get(id(hasher))
    if dummy is None:
        dummy = _DUMMY_HASHES.setdefault(id(hasher), hasher.hash("no account has this password"))
    with contextlib.suppress(VerificationError, InvalidHashError):
        hasher.verify(dummy, password or "")


class User(UserMixin, db.Model):
    __tablename__ = "users"

    id: Mapped[int] = mapped_column(primary_key=True)
    #: login name and reminder address; stored lower-case
    email: Mapped[str] = mapped_column(String(254), unique=True)
    name: Mapped[str] = mapped_column(String(100))
    password_hash: Mapped[str] = mapped_column(String(255))
    role: Mapped[str] = mapped_column(String(20))
    #: zone code for zone staff (see tracker.enterprises.zones)
    zone: Mapped[str | None] = mapped_column(String(20))
    #: the carrier a carrier manager looks after
    carrier_id: Mapped[int | None] = mapped_column(ForeignKey("carriers.id"))
    #: preferred UI and email language
    locale: Mapped[str] = mapped_column(String(10), default="zh_CN")
    #: officers who prefer one daily digest over one email per reminder
    wants_digest: Mapped[bool] = mapped_column(default=False)
    active: Mapped[bool] = mapped_column(default=True)
    created_at: Mapped[datetime] = mapped_column(UTCDateTime, default=now_utc)
    last_login_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
    #: set when an admin resets the password: the next login must choose a new one
    must_change_password: Mapped[bool] = mapped_column(default=False, server_default=false())

    carrier = relationship("Carrier", foreign_keys=[carrier_id])

    @property
    def is_active(self) -> bool:  # Flask-Login refuses inactive accounts
        return self.active

    @property
    def role_enum(self) -> Role:
        return Role(self.role)

    @property
    def can_edit(self) -> bool:
        """May change enterprise records, qualifications and applications."""
        return self.role in EDITOR_ROLES

    @property
    def can_edit_tenant_data(self) -> bool:
        """May change contacts, metrics and move-in details (carrier managers too)."""
        return self.can_edit or self.role == Role.CARRIER_MANAGER

    @property
    def is_admin(self) -> bool:
        return self.role == Role.ADMIN

    def set_password(self, password: str) -> None:
        self.password_hash = hash_password(password)

    def check_password(self, password: str) -> bool:
        try:
            return _hasher().verify(self.password_hash, password)
        except (VerificationError, InvalidHashError):
            return False

    def __repr__(self) -> str:
        return f"<User {self.email} {self.role}>"


class LoginAttempt(db.Model):
    """One row per login attempt; failures in a window block further tries."""

    __tablename__ = "login_attempts"
    __table_args__ = (Index("ix_login_attempts_email_at", "email", "at"),
                      Index("ix_login_attempts_ip_at", "ip", "at"))

    id: Mapped[int] = mapped_column(primary_key=True)
    email: Mapped[str] = mapped_column(String(254))
    ip: Mapped[str] = mapped_column(String(64))
    succeeded: Mapped[bool] = mapped_column(default=False)
    at: Mapped[datetime] = mapped_column(UTCDateTime, default=now_utc)


class UserSession(db.Model):
    """One signed-in browser. The Flask session cookie carries only `id`; deleting or revoking
    this row ends the session even if the cookie is replayed."""

    __tablename__ = "user_sessions"

    #: 256 random bits, URL-safe; the primary key keeps the per-request check one lookup
    id: Mapped[str] = mapped_column(String(64), primary_key=True)
    user_id: Mapped[int] = mapped_column(ForeignKey("users.id", ondelete="CASCADE"), index=True)
    created_at: Mapped[datetime] = mapped_column(UTCDateTime, default=now_utc)
    #: updated at most every SESSION_TOUCH_SECONDS
    last_seen_at: Mapped[datetime] = mapped_column(UTCDateTime, default=now_utc)
    #: hard end: SESSION_LIFETIME_HOURS, or REMEMBER_LIFETIME_DAYS with "remember me"
    expires_at: Mapped[datetime] = mapped_column(UTCDateTime)
    user_agent: Mapped[str] = mapped_column(String(255), default="")
    ip: Mapped[str] = mapped_column(String(64), default="")
    #: SHA-256 of the current remember-me token (hex); the token itself is only in the cookie
    remember_hash: Mapped[str | None] = mapped_column(String(64), unique=True)
    revoked_at: Mapped[datetime | None] = mapped_column(UTCDateTime)

    user = relationship("User")


class UserToken(db.Model):
    """A single-purpose credential sent outside a session: password reset, calendar feed, or a
    personal API token (purpose "api")."""

    __tablename__ = "user_tokens"
    __table_args__ = (Index("ix_user_tokens_user_id_purpose", "user_id", "purpose"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    user_id: Mapped[int] = mapped_column(ForeignKey("users.id", ondelete="CASCADE"))
    #: "password_reset", "calendar" or "api"
    purpose: Mapped[str] = mapped_column(String(20))
    #: reset: SHA-256 of the mailed token (never stored itself). Calendar: a random nonce that
    #: the feed URL carries signed with SECRET_KEY, so the row alone cannot open a feed.
    key: Mapped[str] = mapped_column(String(64), unique=True)
    created_at: Mapped[datetime] = mapped_column(UTCDateTime, default=now_utc)
    expires_at: Mapped[datetime] = mapped_column(UTCDateTime)
    #: a reset token works once
    used_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
    revoked_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
    #: API tokens: the owner's label for the system holding it (named as the audit channel)
    name: Mapped[str | None] = mapped_column(String(100))
    #: API tokens: reads only; every write answers 403
    read_only: Mapped[bool] = mapped_column(default=False, server_default=false())
    #: API tokens: last authenticated request (updated at most once a minute)
    last_used_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
