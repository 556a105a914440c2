"""Password-reset and calendar-feed tokens: random, expiring, revocable rows in user_tokens."""

from __future__ import annotations

import hashlib
import secrets
from datetime import timedelta

from flask import current_app
from itsdangerous import BadSignature, URLSafeSerializer
from sqlalchemy import select, update

from tracker.accounts.models import User, UserToken
from tracker.accounts.services import AccountError, prepare_password, set_password
from tracker.clock import as_utc, now_utc
from tracker.extensions import db, outside_write_lock

RESET = "password_reset"
CALENDAR = "calendar"
#: a second reset mail within this many seconds is not sent (mail-bombing a colleague)
RESET_COOLDOWN_SECONDS = 60


def _digest(token: str) -> str:
    return hashlib.sha256(token.encode()).hexdigest()


def _live(purpose: str):
    return (UserToken.purpose == purpose, UserToken.revoked_at.is_(None),
            UserToken.used_at.is_(None), UserToken.expires_at > now_utc())


def _revoke(user_id: int, purpose: str) -> None:
    db.session.execute(update(UserToken).where(
        UserToken.user_id == user_id, UserToken.purpose == purpose,
        UserToken.revoked_at.is_(None), UserToken.used_at.is_(None))
        .values(revoked_at=now_utc()))


# -- password reset ---------------------------------------------------------------------------

def issue_reset_token(user: User) -> str | None:
    """A new single-use reset token (earlier ones stop working), or None inside the cooldown.

    Only its SHA-256 is stored: the mail is the one place the token exists. Flushes.
    """
    latest = db.session.scalar(
        select(UserToken.created_at).where(UserToken.user_id == user.id, *_live(RESET))
        .order_by(UserToken.created_at.desc()).limit(1))
    if latest and now_utc() - as_utc(latest) < timedelta(seconds=RESET_COOLDOWN_SECONDS):
        return None
    _revoke(user.id, RESET)
    token = secrets.token_urlsafe(32)
    minutes = current_app.config["PASSWORD_RESET_MINUTES"]
    db.session.add(UserToken(user_id=user.id, purpose=RESET, key=_digest(token),
                             expires_at=now_utc() + timedelta(minutes=minutes)))
    db.session.flush()
    return token


def _reset_row(token: str) -> UserToken | None:
    if not token:
        return None
    row = db.session.scalar(select(UserToken).where(UserToken.key == _digest(token),
                                                    *_live(RESET)))
    user = db.session.get(User, row.user_id) if row else None
    return row if user and user.active else None


def user_for_reset_token(token: str) -> User | None:
    """Who a still-valid reset link belongs to (for the form), without spending it."""
    row = _reset_row(token)
    return db.session.get(User, row.user_id) if row else None


def reset_password(token: str, new_password: str) -> User:
    """Spend the token on a new password; every session of the user ends. Flushes.

    The policy check and the Argon2 hash run first, holding no write lock
    (`outside_write_lock`); the token is looked up again in the writing transaction after,
    as another request may have spent it meanwhile."""
    with outside_write_lock():
        row = _reset_row(token)
        if row is None:
            raise AccountError("reset link invalid")
        hashed = prepare_password(new_password, db.session.get(User, row.user_id).email)
    row = _reset_row(token)
    if row is None:
        raise AccountError("reset link invalid")
    user = db.session.get(User, row.user_id)
    set_password(user, new_password, hashed=hashed)
    row.used_at = now_utc()
    db.session.flush()
    return user


# -- calendar feed ----------------------------------------------------------------------------

def _calendar_serializer() -> URLSafeSerializer:
    return URLSafeSerializer(current_app.config["SECRET_KEY"], salt="accounts-calendar-feed")


def _new_calendar_row(user: User) -> UserToken:
    days = current_app.config["CALENDAR_TOKEN_DAYS"]
    row = UserToken(user_id=user.id, purpose=CALENDAR, key=secrets.token_urlsafe(32),
                    expires_at=now_utc() + timedelta(days=days))
    db.session.add(row)
    db.session.flush()
    return row


def current_calendar_token(user: User) -> tuple[str, UserToken]:
    """The user's live feed token and its row, issuing one if none is live. Flushes.

    The URL carries the row's nonce signed with SECRET_KEY: it can be shown again on every
    visit, yet a copy of the database alone opens no feed.
    """
    row = db.session.scalar(select(UserToken).where(UserToken.user_id == user.id,
                                                    *_live(CALENDAR))
                            .order_by(UserToken.created_at.desc()).limit(1))
    if row is None:
        row = _new_calendar_row(user)
    return _calendar_serializer().dumps([user.id, row.key]), row


def regenerate_calendar_token(user: User) -> str:
    """Retire every earlier feed URL of this user and issue a new one. Flushes."""
    _revoke(user.id, CALENDAR)
    row = _new_calendar_row(user)
    return _calendar_serializer().dumps([user.id, row.key])


def user_for_calendar_token(token: str) -> User | None:
    """The active owner of a live feed token, or None (forged, regenerated, expired)."""
    try:
        user_id, key = _calendar_serializer().loads(token)
        user_id = int(user_id)
    except (BadSignature, ValueError, TypeError):
        return None
    row = db.session.scalar(select(UserToken).where(UserToken.key == str(key),
                                                    *_live(CALENDAR)))
    if row is None or row.user_id != user_id:
        return None
    user = db.session.get(User, user_id)
    return user if user and user.active else None
