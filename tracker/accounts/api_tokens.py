"""Personal API tokens: issued once, stored as a SHA-256, expiring, revocable, read-only or not.

They live in user_tokens (purpose "api") beside the reset and calendar tokens; the API's
`Authorization: Bearer <token>` is checked here and nowhere else.
"""

from __future__ import annotations

import hashlib
import secrets
from datetime import timedelta

from flask import current_app
from sqlalchemy import select, update

from tracker.accounts.models import User, UserToken
from tracker.clock import as_utc, now_utc
from tracker.errors import FieldError
from tracker.extensions import db

API = "api"
#: every API token starts so, which lets secret scanners and people recognise one
PREFIX = "ipt_"
#: last_used_at is written at most this often per token (a write per request would be waste)
TOUCH_SECONDS = 60
MAX_DAYS = 3660


def _digest(token: str) -> str:
    return hashlib.sha256(token.encode()).hexdigest()


def issue(user: User, *, name: str | None = None, days: int | None = None,
          read_only: bool = False) -> tuple[str, UserToken]:
    """A new token for `user` and its row; the plain token exists only in the return value.

    Flushes. FieldError for an expiry outside 1..MAX_DAYS days or an over-long name.
    """
    days = current_app.config.get("API_TOKEN_DAYS", 365) if days is None else days
    name = (name or "").strip() or None
    if not 1 <= int(days) <= MAX_DAYS:
        raise FieldError({"expires_days": f"有效期须为 1 至 {MAX_DAYS} 天"})
    if name and len(name) > 100:
        raise FieldError({"name": "名称不能超过 100 个字符"})
    token = PREFIX + secrets.token_urlsafe(32)
    row = UserToken(user_id=user.id, purpose=API, key=_digest(token), name=name,
                    read_only=bool(read_only), expires_at=now_utc() + timedelta(days=int(days)))
    db.session.add(row)
    db.session.flush()
    return token, row


def tokens_of(user: User) -> list[UserToken]:
    """The user's API tokens, live ones first, newest first (revoked and expired shown too)."""
    rows = db.session.scalars(select(UserToken).where(
        UserToken.user_id == user.id, UserToken.purpose == API)
        .order_by(UserToken.created_at.desc(), UserToken.id.desc())).all()
    return sorted(rows, key=lambda r: not is_live(r))


def is_live(row: UserToken) -> bool:
    return row.revoked_at is None and as_utc(row.expires_at) > now_utc()


def revoke(user: User, token_id: int) -> bool:
    """Revoke one of the user's own tokens; False when it is not theirs (or not an API token)."""
    result = db.session.execute(update(UserToken).where(
        UserToken.id == token_id, UserToken.user_id == user.id, UserToken.purpose == API,
        UserToken.revoked_at.is_(None)).values(revoked_at=now_utc()))
    return bool(result.rowcount)


def revoke_all(user_id: int) -> int:
    """Revoke every live API token of a user (new password, deactivation); how many."""
    result = db.session.execute(update(UserToken).where(
        UserToken.user_id == user_id, UserToken.purpose == API,
        UserToken.revoked_at.is_(None), UserToken.expires_at > now_utc())
        .values(revoked_at=now_utc()))
    return max(result.rowcount or 0, 0)


def authenticate(token: str) -> tuple[User, UserToken] | None:
    """The active owner of a live API token and its row, or None; records the use."""
    if not token or not token.startswith(PREFIX) or len(token) > 200:
        return None
    row = db.session.scalar(select(UserToken).where(
        UserToken.key == _digest(token), UserToken.purpose == API,
        UserToken.revoked_at.is_(None), UserToken.expires_at > now_utc()))
    if row is None:
        return None
    user = db.session.get(User, row.user_id)
    if user is None or not user.active:
        return None
    now = now_utc()
    if row.last_used_at is None or now - as_utc(row.last_used_at) > timedelta(
            seconds=TOUCH_SECONDS):
        row.last_used_at = now
    return user, row
