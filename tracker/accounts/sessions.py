"""Server-side session identity: every signed-in cookie names a revocable user_sessions row.

The Flask session cookie is signed but not revocable on its own; it therefore carries only
the row's random id ("sid"), and the user loader checks that row on each request with one
primary-key lookup. Remember-me tokens are random, stored as SHA-256, rotated on every use
and die with their row (logout, password change, deactivation, or the row's expiry).
"""

from __future__ import annotations

import hashlib
import secrets
from dataclasses import dataclass
from datetime import datetime, timedelta
from functools import cache

from flask import current_app, has_request_context, session
from sqlalchemy import Select, bindparam, delete, event, inspect, or_, select, update
from sqlalchemy.orm import Session

from tracker import snapshots
from tracker.accounts.models import LoginAttempt, User, UserSession, UserToken
from tracker.clock import as_utc, now_utc
from tracker.extensions import db

#: name of our remember-me cookie (Flask-Login's own remember cookie is never set)
REMEMBER_COOKIE = "tracker_remember"
#: key in the Flask session holding UserSession.id
SESSION_KEY = "sid"


def _digest(token: str) -> str:
    return hashlib.sha256(token.encode()).hexdigest()


def _is_live(revoked_at: datetime | None, expires_at: datetime, at: datetime) -> bool:
    return revoked_at is None and as_utc(expires_at) > at


@dataclass(frozen=True)
class Started:
    """A new session and, with remember-me, the token for its cookie (shown only here)."""

    session: UserSession
    remember_token: str | None


def start_session(user: User, *, remember: bool, user_agent: str = "", ip: str = "") -> Started:
    """Open a session for a successful login; flushes, the edge commits."""
    now = now_utc()
    config = current_app.config
    lifetime = (timedelta(days=config["REMEMBER_LIFETIME_DAYS"]) if remember
                else timedelta(hours=config["SESSION_LIFETIME_HOURS"]))
    token = secrets.token_urlsafe(32) if remember else None
    row = UserSession(id=secrets.token_urlsafe(32), user_id=user.id, created_at=now,
                      last_seen_at=now, expires_at=now + lifetime,
                      user_agent=(user_agent or "")[:255], ip=(ip or "")[:64],
                      remember_hash=_digest(token) if token else None)
    db.session.add(row)
    db.session.flush()
    return Started(row, token)


@cache
def _load_statement() -> Select:
    """The user loader's one query, built once: the session row's few columns, its user, and
    the counts version (kept figures' validity) in the same round trip."""
    return (select(UserSession.user_id, UserSession.revoked_at, UserSession.expires_at,
                   UserSession.last_seen_at, snapshots.version_column(), User)
            .join(User, User.id == UserSession.user_id)
            .where(UserSession.id == bindparam("sid"))
            .execution_options(populate_existing=True))


def load(sid: str | None, user_id: str | None) -> User | None:
    """The user of a live session, or None. One query; last-seen written at most every
    SESSION_TOUCH_SECONDS, and only when no other work shares the transaction."""
    if not sid or not user_id or not str(user_id).isdigit():
        return None
    fresh = not db.session().in_transaction()
    found = db.session.execute(_load_statement(), {"sid": sid}).first()
    if found is None:
        return None
    owner, revoked_at, expires_at, last_seen_at, counts_version, user = found
    snapshots.remember(counts_version)  # read before anything the request computes
    now = now_utc()
    if owner != int(user_id) or not _is_live(revoked_at, expires_at, now) or not user.active:
        return None
    touch_every = timedelta(seconds=current_app.config["SESSION_TOUCH_SECONDS"])
    if fresh and now - as_utc(last_seen_at) >= touch_every:
        # nothing but this lookup is in the transaction yet, so committing is safe here. The
        # lookup's transaction ends first: on SQLite a page view's (deferred) transaction
        # that has read cannot write once another connection has committed since, while an
        # UPDATE that begins one waits for the lock like any writer (extensions.writing)
        db.session.commit()
        db.session.execute(update(UserSession).where(UserSession.id == sid)
                           .values(last_seen_at=now))
        db.session.commit()
    return user


def resume(token: str, *, user_agent: str = "",
           ip: str = "") -> tuple[User, UserSession, str] | None:
    """Sign back in with a remember-me token: (user, session, new token) or None.

    The token is spent: a new one replaces it, so a copied cookie works at most once and
    the thief's use shows up as the owner's next refusal. Flushes; the edge commits.
    """
    if not token:
        return None
    row = db.session.scalar(select(UserSession).where(UserSession.remember_hash == _digest(token))
                            .execution_options(populate_existing=True))
    now = now_utc()
    if row is None or not _is_live(row.revoked_at, row.expires_at, now) or not row.user.active:
        return None
    new_token = secrets.token_urlsafe(32)
    row.remember_hash = _digest(new_token)
    row.last_seen_at = now
    if user_agent:
        row.user_agent = user_agent[:255]
    if ip:
        row.ip = ip[:64]
    db.session.flush()
    return row.user, row, new_token


def end_session(sid: str | None, *, user_id: int | None = None) -> bool:
    """Revoke one session (only the given user's, when user_id is passed). Flushes."""
    if not sid:
        return False
    query = update(UserSession).where(UserSession.id == sid, UserSession.revoked_at.is_(None))
    if user_id is not None:
        query = query.where(UserSession.user_id == user_id)
    result = db.session.execute(query.values(revoked_at=now_utc(), remember_hash=None))
    return bool(result.rowcount)


def end_all_sessions(user_id: int, *, keep: str | None = None) -> int:
    """Revoke every session of a user except `keep`: password change, reset, deactivation."""
    query = update(UserSession).where(UserSession.user_id == user_id,
                                      UserSession.revoked_at.is_(None))
    if keep:
        query = query.where(UserSession.id != keep)
    result = db.session.execute(query.values(revoked_at=now_utc(), remember_hash=None))
    return result.rowcount


def end_every_session() -> int:
    """Revoke all sessions of all users (suspected key or database leak). Flushes."""
    result = db.session.execute(update(UserSession).where(UserSession.revoked_at.is_(None))
                                .values(revoked_at=now_utc(), remember_hash=None))
    return result.rowcount


def live_sessions(user_id: int) -> list[UserSession]:
    """A user's sessions that still work, most recently seen first."""
    now = now_utc()
    return list(db.session.scalars(
        select(UserSession).where(UserSession.user_id == user_id,
                                  UserSession.revoked_at.is_(None),
                                  UserSession.expires_at > now)
        .order_by(UserSession.last_seen_at.desc())))


def purge(older_than_days: int = 30) -> dict[str, int]:
    """Delete sessions, tokens and login attempts that ended long ago. Flushes.

    Kept a while after they end so "who was signed in from where" can still be answered.
    """
    cutoff = now_utc() - timedelta(days=older_than_days)
    counts = {
        "sessions": db.session.execute(delete(UserSession).where(or_(
            UserSession.expires_at < cutoff, UserSession.revoked_at < cutoff))).rowcount,
        "tokens": db.session.execute(delete(UserToken).where(or_(
            UserToken.expires_at < cutoff, UserToken.revoked_at < cutoff,
            UserToken.used_at < cutoff))).rowcount,
        "login_attempts": db.session.execute(
            delete(LoginAttempt).where(LoginAttempt.at < cutoff)).rowcount,
    }
    return counts


def remember_seconds(row: UserSession) -> int:
    """Cookie max-age: what is left of the session's bounded lifetime."""
    return max(0, int((as_utc(row.expires_at) - now_utc()).total_seconds()))


@event.listens_for(Session, "after_flush")
def _end_sessions_on_password_or_deactivation(flush_session: Session, _context) -> None:
    """Whatever the channel (own page, admin page, reset link, CLI), a new password or a
    deactivation ends the user's other sessions and API tokens: a thief's must not outlive
    either.
    The session making the change survives a password change by its own user."""
    for obj in flush_session.dirty:
        if not isinstance(obj, User):
            continue
        state = inspect(obj)
        deactivated = state.attrs.active.history.added == [False]
        new_password = state.attrs.password_hash.history.has_changes()
        if not (deactivated or new_password):
            continue
        keep = None
        if new_password and not deactivated and has_request_context():
            keep = session.get(SESSION_KEY) if session.get("_user_id") == str(obj.id) else None
        query = update(UserSession).where(UserSession.user_id == obj.id,
                                          UserSession.revoked_at.is_(None))
        if keep:
            query = query.where(UserSession.id != keep)
        flush_session.connection().execute(query.values(revoked_at=now_utc(),
                                                        remember_hash=None))
        # the services revoke (and audit) the API tokens; this catches a channel that set
        # the attribute itself
        flush_session.connection().execute(
            update(UserToken).where(UserToken.user_id == obj.id, UserToken.purpose == "api",
                                    UserToken.revoked_at.is_(None))
            .values(revoked_at=now_utc()))
