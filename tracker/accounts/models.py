"""User accounts and the login-attempt log that rate-limits guessing."""

from __future__ import annotations

from datetime import datetime

from argon2 import PasswordHasher
from argon2.exceptions import InvalidHashError, VerificationError
from flask import current_app, has_app_context
from flask_login import UserMixin
from sqlalchemy import ForeignKey, Index, String
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
        self.password_hash = _hasher().hash(password)

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
    __table_args__ = (Index("ix_login_attempts_email_at", "email", "at"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    email: Mapped[str] = mapped_column(String(254))
    ip: Mapped[str] = mapped_column(String(64))
    succeeded: Mapped[bool] = mapped_column(default=False)
    at: Mapped[datetime] = mapped_column(UTCDateTime, default=now_utc)
