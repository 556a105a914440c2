"""Creating users, passwords, and checking logins with growing delays after failures."""

from __future__ import annotations

import math
from datetime import timedelta

from flask import current_app
from flask_babel import gettext as _
from sqlalchemy import func, select

from tracker.accounts import api_tokens
from tracker.accounts.models import LoginAttempt, User, dummy_password_check, hash_password
from tracker.accounts.passwords import MIN_LENGTH, password_message, password_problem
from tracker.accounts.roles import EDITOR_ROLES, Role
from tracker.audit import services as audit
from tracker.clock import as_utc, now_utc
from tracker.extensions import db, outside_write_lock
from tracker.vocabulary import ZONES

MIN_PASSWORD_LENGTH = MIN_LENGTH


class AccountError(ValueError):
    """A user could not be created or changed; the message says why."""


class TooManyAttempts(Exception):
    """Login refused without checking the password: wait `retry_after` seconds."""

    def __init__(self, retry_after: int) -> None:
        super().__init__(retry_after)
        self.retry_after = retry_after


def user_field_errors(role: str, zone: str | None, carrier_id: int | None) -> dict[str, str]:
    """Every problem with a role and its zone or carrier, keyed by field, so a form shows all."""
    errors = {}
    if role not in set(Role):
        errors["role"] = _("未知角色：%(role)s", role=role)
    if role == Role.ZONE and zone not in ZONES:
        errors["zone"] = _("开发区/街镇用户必须指定所属区域")
    if role == Role.CARRIER_MANAGER and not carrier_id:
        errors["carrier_id"] = _("载体管理员必须指定所管理的载体")
    return errors


def new_user_errors(email: str, password: str, role: str, zone: str | None,
                    carrier_id: int | None) -> dict[str, str]:
    """All reasons a new account would be refused, keyed by form field."""
    errors = user_field_errors(role, zone, carrier_id)
    email = (email or "").strip().lower()
    if not password:
        errors["password"] = _("新用户必须设置密码")
    elif problem := password_problem(password, email):
        errors["password"] = password_message(problem)
    if email and db.session.scalar(select(User.id).where(User.email == email)):
        errors["email"] = _("邮箱 %(email)s 已有账号", email=email)
    return errors


def validate_user_fields(role: str, zone: str | None, carrier_id: int | None) -> None:
    """Raise AccountError with the first problem (the CLI and API report one line)."""
    errors = user_field_errors(role, zone, carrier_id)
    if errors:
        raise AccountError(next(iter(errors.values())))


def create_user(
    email: str,
    password: str,
    role: str,
    *,
    name: str | None = None,
    zone: str | None = None,
    carrier_id: int | None = None,
    locale: str = "zh_CN",
    hashed: str | None = None,
) -> User:
    """A new account (flushed, audited). `hashed`: the password's hash from `prepare_password`,
    made outside the write lock; else it is made here, before the first query (in a command,
    the transaction begins as a writer at that query: the slow hash holds no lock)."""
    email = email.strip().lower()
    validate_user_fields(role, zone, carrier_id)
    if hashed is None:
        hashed = prepare_password(password, email)
    if db.session.scalar(select(User.id).where(User.email == email)):
        raise AccountError(_("邮箱 %(email)s 已有账号", email=email))
    user = User(
        email=email,
        name=name or email.split("@")[0],
        role=role,
        zone=zone if role == Role.ZONE else None,
        carrier_id=carrier_id if role == Role.CARRIER_MANAGER else None,
        locale=locale,
    )
    user.password_hash = hashed
    db.session.add(user)
    db.session.flush()
    audit.record("user", user.id, "create", {"email": [None, email], "role": [None, role]})
    return user


def check_new_password(password: str, email: str | None) -> None:
    """Raise AccountError saying why, when the password policy refuses this password."""
    problem = password_problem(password or "", email)
    if problem:
        raise AccountError(password_message(problem))


def set_password(user: User, password: str, *, must_change: bool = False,
                 hashed: str | None = None) -> int:
    """Store a new password (policy checked) and revoke the user's API tokens: whoever knew the
    old password may have made one. The after-flush hook in accounts.sessions then ends the
    user's other sessions. `must_change`: an admin set it; the user picks their own. Every
    channel (own page, admin page, reset link) comes here. Returns the tokens revoked.
    `hashed`: its hash from `prepare_password`, made before the transaction began."""
    if hashed is None:
        hashed = prepare_password(password, user.email)
    # first: the flush the new hash causes would revoke them too, uncounted (accounts.sessions)
    revoked = api_tokens.revoke_all(user.id)
    user.password_hash = hashed
    user.must_change_password = must_change
    changes: dict[str, list] = {"password": ["***", "***"],
                                "must_change_password": [None, must_change]}
    if revoked:
        changes["api_tokens_revoked"] = [None, revoked]
    audit.record("user", user.id, "password", changes)
    return revoked


def set_active(user: User, active: bool) -> int:
    """Activate or deactivate an account. Deactivating revokes the API tokens for good (a
    reactivated account starts without them; its sessions end through accounts.sessions).
    Returns the tokens revoked; audited when any were."""
    revoked = 0 if active or not user.active else api_tokens.revoke_all(user.id)
    user.active = bool(active)
    if revoked:
        audit.record("user", user.id, "deactivate", {"api_tokens_revoked": [None, revoked]})
    return revoked


def change_own_password(user: User, current: str, new: str) -> int:
    """A signed-in user's own change: the current password proves it is them. Returns the API
    tokens the change revoked (the page says so). Both Argon2 runs (the current password's
    check, the new one's hash) hold no write lock (`outside_write_lock`)."""
    with outside_write_lock():
        if not user.check_password(current or ""):
            raise AccountError(_("当前密码不正确"))
        if current == new:
            raise AccountError(_("新密码不能与当前密码相同"))
        hashed = prepare_password(new, user.email)
    return set_password(user, new, hashed=hashed)


def prepare_password(password: str, email: str | None) -> str:
    """The policy checked (AccountError) and the Argon2 hash made, without the database: done
    before a writing transaction begins, the slow hash holds no lock (see `set_password`)."""
    check_new_password(password, email)
    return hash_password(password)


def throttle_delay(*, failures: int, free: int, base_seconds: int, cap_seconds: int) -> int:
    """Seconds to wait after the latest failure: none for the first `free`, then doubling."""
    if failures < free:
        return 0
    return min(cap_seconds, base_seconds * 2 ** min(failures - free, 30))


def _failures(condition) -> tuple[int, object]:
    window = timedelta(seconds=current_app.config["LOGIN_WINDOW_SECONDS"])
    count, last = db.session.execute(
        select(func.count(LoginAttempt.id), func.max(LoginAttempt.at)).where(
            condition, LoginAttempt.succeeded.is_(False),
            LoginAttempt.at >= now_utc() - window)).one()
    return count or 0, as_utc(last)


def retry_after(email: str, ip: str) -> int:
    """Seconds before this address may try this account again; 0 means go ahead.

    Two counters, both failures inside LOGIN_WINDOW_SECONDS. Per address (any account): a
    guesser spraying many emails slows down quickly. Per account (any address): grows more
    slowly and binds only addresses that failed recently, so someone else's guesses never
    keep the owner out; their first try from a clean address always reaches the password.
    """
    config = current_app.config
    now = now_utc()
    ip_count, ip_last = _failures(LoginAttempt.ip == ip)
    if not ip_count:
        return 0
    wait = (ip_last - now).total_seconds() + throttle_delay(
        failures=ip_count, free=config["LOGIN_ADDRESS_FREE_FAILURES"], base_seconds=5,
        cap_seconds=config["LOGIN_ADDRESS_MAX_DELAY"])
    account_count, account_last = _failures(LoginAttempt.email == email)
    if account_count:
        wait = max(wait, (account_last - now).total_seconds() + throttle_delay(
            failures=account_count, free=config["LOGIN_ACCOUNT_FREE_FAILURES"], base_seconds=5,
            cap_seconds=config["LOGIN_ACCOUNT_MAX_DELAY"]))
    return max(0, math.ceil(wait))


def authenticate(email: str, password: str, ip: str) -> User | None:
    """The active user with these credentials, or None; raises TooManyAttempts to slow guessing.

    Unknown and inactive accounts cost one Argon2 verification too, so response time does
    not tell which emails have accounts. The verification (tens of milliseconds) runs in a
    reading transaction of its own (`outside_write_lock`): on SQLite every other save would
    wait for it. The attempt is recorded in the short writing transaction after it, which asks
    the throttle again: guesses that raced past the first check still count one by one.
    """
    email = (email or "").strip().lower()
    with outside_write_lock():
        _refuse_if_throttled(email, ip)
        user = db.session.scalar(select(User).where(User.email == email))
        if user is None:
            dummy_password_check(password)
        verified = user.id if user is not None and user.check_password(password) else None
    _refuse_if_throttled(email, ip)
    user = db.session.get(User, verified) if verified is not None else None
    ok = user is not None and user.active
    db.session.add(LoginAttempt(email=email[:254], ip=ip[:64], succeeded=ok))
    if ok:
        user.last_login_at = now_utc()
        return user
    return None


def _refuse_if_throttled(email: str, ip: str) -> None:
    wait = retry_after(email, ip)
    if wait:
        raise TooManyAttempts(wait)


#: built once: every editor's enterprise page and form reads it
_ACTIVE_OFFICERS = (select(User).where(User.role.in_(sorted(EDITOR_ROLES)), User.active.is_(True))
                    .order_by(User.name))


def active_officers() -> list[User]:
    """Active staff who may own firms, tasks and applications (officer pickers), by name."""
    return list(db.session.scalars(_ACTIVE_OFFICERS))


def officer_choices(officers: list[User] | None = None) -> list[tuple[str, str]]:
    """Select-field choices for an officer or owner picker, with an empty first choice
    (`officers`: active_officers() already read by the caller)."""
    found = active_officers() if officers is None else officers
    return [("", "—")] + [(str(u.id), u.name) for u in found]
