"""Account tasks: the password-reset mail (sent after the request commits) and the nightly purge."""

from __future__ import annotations

import secrets

from celery import shared_task
from celery.schedules import crontab
from flask import current_app, render_template
from flask_babel import force_locale
from flask_babel import gettext as _

from tracker import mail
from tracker.accounts import sessions, tokens
from tracker.accounts.models import User
from tracker.extensions import db, writing

BEAT_SCHEDULE = {
    "accounts-purge": {
        "task": "tracker.accounts.purge",
        "schedule": crontab(hour=3, minute=17),
        "options": {"expires": 3600},
    },
}


def send_password_reset_now(user_id: int) -> bool:
    """Issue a reset token and mail it; False when nothing was sent (unknown, inactive, cooldown).

    The token is created here, not in the request, so it never travels through the broker.
    The token's transaction begins as a writer (it reads the cooldown, then writes); the task
    otherwise begins as a reader, and nothing is read after its commit (which expires the
    user): the mail is sent with no transaction open.
    """
    with writing():
        issued = _issue_reset(user_id)
        db.session.commit()  # the link must work before the mail can arrive
    if issued is None:
        return False
    token, name, email, locale = issued
    base = current_app.config["BASE_URL"].rstrip("/")
    ctx = {"recipient_name": name, "reset_url": f"{base}/password/reset/{token}",
           "minutes": current_app.config["PASSWORD_RESET_MINUTES"]}
    with force_locale("en" if (locale or "").startswith("en") else "zh_CN"):
        subject = _("重设密码")
        text = render_template("emails/password_reset.txt", **ctx)
        html = render_template("emails/password_reset.html", **ctx)
    domain = current_app.config["MAIL_FROM"].rpartition("@")[2] or "tracker"
    message = mail.build_message(to=email, subject=subject, text=text, html=html,
                                 message_id=f"<reset-{secrets.token_hex(8)}@{domain}>")
    mail.deliver(message)
    return True


def _issue_reset(user_id: int) -> tuple[str, str, str, str] | None:
    """(token, name, email, locale) of a new reset token (flushed), or None."""
    user = db.session.get(User, user_id)
    if user is None or not user.active:
        return None
    token = tokens.issue_reset_token(user)
    if token is None:
        return None
    return token, user.name, user.email, user.locale


# waits on the mail server after its commit: no write lock held meanwhile (FlaskTask)
@shared_task(name="tracker.accounts.send_password_reset", ignore_result=True,
             autoretry_for=(mail.TransientMailError,), retry_backoff=30, max_retries=5,
             begins_as_writer=False)
def send_password_reset(user_id: int) -> bool:
    return send_password_reset_now(user_id)


@shared_task(name="tracker.accounts.purge", ignore_result=True)
def purge() -> dict[str, int]:
    """Old sessions, tokens and login attempts go; safe to run twice."""
    counts = sessions.purge()
    db.session.commit()
    return counts
