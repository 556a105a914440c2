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
from tracker.extensions import db

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
    """
    user = db.session.get(User, user_id)
    if user is None or not user.active:
        return False
    token = tokens.issue_reset_token(user)
    if token is None:
        return False
    db.session.commit()  # the link must work before the mail can arrive
    base = current_app.config["BASE_URL"].rstrip("/")
    ctx = {"recipient_name": user.name, "reset_url": f"{base}/password/reset/{token}",
           "minutes": current_app.config["PASSWORD_RESET_MINUTES"]}
    locale = "en" if (user.locale or "").startswith("en") else "zh_CN"
    with force_locale(locale):
        subject = _("重设密码")
        text = render_template("emails/password_reset.txt", **ctx)
        html = render_template("emails/password_reset.html", **ctx)
    domain = current_app.config["MAIL_FROM"].rpartition("@")[2] or "tracker"
    message = mail.build_message(to=user.email, subject=subject, text=text, html=html,
                                 message_id=f"<reset-{secrets.token_hex(8)}@{domain}>")
    mail.deliver(message)
    return True


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
