"""Per-request session handling: who is signed in, remember-me resumption, forced changes."""

from __future__ import annotations

from flask import Flask, abort, current_app, g, redirect, request, session, url_for
from flask_login import current_user, login_user, logout_user

from tracker.accounts import sessions
from tracker.extensions import db

#: where a user who must choose a new password may still go
_ALLOWED_WHILE_CHANGING = {"accounts.change_password", "accounts.logout",
                           "accounts.set_language", "static"}


def client_ip() -> str:
    """The client's address as the trusted proxies (TRUSTED_PROXIES) report it."""
    return (request.remote_addr or "?")[:64]


def sign_in(user, session_row, *, remember_token: str | None = None) -> None:
    """Bind this browser to a fresh server-side session.

    The Flask session is cleared first: nothing from before the login survives, including
    the CSRF secret (Flask-WTF keeps it in the session and caches it on `g`).
    """
    session.clear()
    g.pop("csrf_token", None)
    session[sessions.SESSION_KEY] = session_row.id
    login_user(user)  # Flask-Login's own remember cookie stays unused
    session["locale"] = user.locale
    if remember_token:
        g.set_remember = (remember_token, sessions.remember_seconds(session_row))


def sign_out() -> None:
    """End this browser's session on the server too, and forget the remember cookie."""
    sessions.end_session(session.get(sessions.SESSION_KEY))
    db.session.commit()
    logout_user()
    session.clear()
    g.pop("csrf_token", None)
    g.forget_remember = True


def _before_request():
    # Every request decides its user afresh (tests share one app context and its `g`).
    g.pop("_login_user", None)
    if request.endpoint == "static":
        return None
    if not current_user.is_authenticated:
        token = request.cookies.get(sessions.REMEMBER_COOKIE)
        if token:
            resumed = sessions.resume(token, user_agent=request.user_agent.string,
                                      ip=client_ip())
            # A refused token is left alone rather than deleted: when two tabs resume at once,
            # the loser's delete would otherwise wipe the winner's freshly rotated cookie.
            if resumed is not None:
                user, row, new_token = resumed
                db.session.commit()
                sign_in(user, row, remember_token=new_token)
    if (current_user.is_authenticated and current_user.must_change_password
            and request.endpoint not in _ALLOWED_WHILE_CHANGING):
        if request.path.startswith("/api/"):
            abort(403, description="password change required")
        return redirect(url_for("accounts.change_password"))
    return None


def _after_request(response):
    secure = current_app.config.get("REMEMBER_COOKIE_SECURE", False)
    if getattr(g, "set_remember", None):
        token, max_age = g.pop("set_remember")
        response.set_cookie(sessions.REMEMBER_COOKIE, token, max_age=max_age, secure=secure,
                            httponly=True, samesite="Lax")
    elif g.pop("forget_remember", False):
        response.delete_cookie(sessions.REMEMBER_COOKIE, secure=secure, httponly=True,
                               samesite="Lax")
    return response


def init_app(app: Flask) -> None:
    app.before_request(_before_request)
    app.after_request(_after_request)
