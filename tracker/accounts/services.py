"""Creating users and checking logins, with a rate limit on failures."""

from __future__ import annotations

from datetime import timedelta

from flask import current_app
from sqlalchemy import func, select

from tracker.accounts.models import LoginAttempt, User
from tracker.accounts.roles import EDITOR_ROLES, Role
from tracker.audit import services as audit
from tracker.clock import now_utc
from tracker.extensions import db
from tracker.vocabulary import ZONES

MIN_PASSWORD_LENGTH = 10


class AccountError(ValueError):
    """A user could not be created or changed; the message says why."""


class TooManyAttempts(Exception):
    """Login refused without checking the password: too many recent failures."""


def validate_user_fields(role: str, zone: str | None, carrier_id: int | None) -> None:
    if role not in set(Role):
        raise AccountError(f"未知角色：{role}")
    if role == Role.ZONE and zone not in ZONES:
        raise AccountError("开发区/街镇用户必须指定所属区域")
    if role == Role.CARRIER_MANAGER and not carrier_id:
        raise AccountError("载体管理员必须指定所管理的载体")


def create_user(
    email: str,
    password: str,
    role: str,
    *,
    name: str | None = None,
    zone: str | None = None,
    carrier_id: int | None = None,
    locale: str = "zh_CN",
) -> User:
    email = email.strip().lower()
    validate_user_fields(role, zone, carrier_id)
    if len(password) < MIN_PASSWORD_LENGTH:
        raise AccountError(f"密码至少 {MIN_PASSWORD_LENGTH} 位")
    if db.session.scalar(select(User.id).where(User.email == email)):
        raise AccountError(f"邮箱 {email} 已有账号")
    user = User(
        email=email,
        name=name or email.split("@")[0],
        role=role,
        zone=zone if role == Role.ZONE else None,
        carrier_id=carrier_id if role == Role.CARRIER_MANAGER else None,
        locale=locale,
    )
    user.set_password(password)
    db.session.add(user)
    db.session.flush()
    audit.record("user", user.id, "create", {"email": [None, email], "role": [None, role]})
    return user


def recent_failures(email: str, ip: str) -> int:
    window = timedelta(seconds=current_app.config["LOGIN_WINDOW_SECONDS"])
    return db.session.scalar(
        select(func.count(LoginAttempt.id)).where(
            LoginAttempt.email == email,
            LoginAttempt.ip == ip,
            LoginAttempt.succeeded.is_(False),
            LoginAttempt.at >= now_utc() - window,
        )
    )


def authenticate(email: str, password: str, ip: str) -> User | None:
    """The active user with these credentials, or None; raises TooManyAttempts when locked."""
    email = (email or "").strip().lower()
    if recent_failures(email, ip) >= current_app.config["LOGIN_MAX_FAILURES"]:
        raise TooManyAttempts
    user = db.session.scalar(select(User).where(User.email == email))
    ok = bool(user and user.active and user.check_password(password))
    db.session.add(LoginAttempt(email=email, ip=ip, succeeded=ok))
    if ok:
        user.last_login_at = now_utc()
        return user
    return None


def active_officers() -> list[User]:
    """Active staff who may own firms, tasks and applications (officer pickers), by name."""
    return list(db.session.scalars(
        select(User).where(User.role.in_(list(EDITOR_ROLES)), User.active.is_(True))
        .order_by(User.name)))


def officer_choices() -> list[tuple[str, str]]:
    """Select-field choices for an officer or owner picker, with an empty first choice."""
    return [("", "—")] + [(str(u.id), u.name) for u in active_officers()]
