"""Digests: fold each digest user's pending items into one daily digest reminder."""

from __future__ import annotations

from datetime import date

from sqlalchemy import Date, Integer, String, cast, literal, null, select, true, update

from tracker import ledger_changes
from tracker.accounts.models import User
from tracker.clock import today
from tracker.extensions import db
from tracker.reminders.defaults import digest_rule
from tracker.reminders.models import Reminder


def build_digests(day: date | None = None) -> list[int]:
    """Fold each digest user's pending items into one digest reminder for `day` (idempotent)."""
    from tracker.reminders.sweep import _insert  # the same ON CONFLICT insert as the sweep

    day = day or today()
    rule = digest_rule()
    users = list(db.session.scalars(
        select(User).where(User.id.in_(
            select(Reminder.recipient_id).where(
                Reminder.recipient_type == "user", Reminder.channel == "digest",
                Reminder.status == "pending")))))
    made: list[int] = []
    for user in users:
        row = select(
            literal(rule.id).label("rule_id"), literal("user", String).label("subject_type"),
            literal(user.id).label("subject_id"), literal(day, Date).label("occurrence_on"),
            literal("daily", String).label("occurrence_tag"),
            cast(null(), Integer).label("enterprise_id"),
            literal("user", String).label("recipient_type"),
            literal(user.id).label("recipient_id"),
            literal(user.email, String).label("to_address"),
            literal(user.locale, String).label("locale"), literal("email", String).label("channel"),
        ).where(true())
        db.session.execute(_insert(row))
        digest = db.session.scalar(select(Reminder).where(
            Reminder.rule_id == rule.id, Reminder.subject_type == "user",
            Reminder.subject_id == user.id, Reminder.occurrence_on == day,
            Reminder.occurrence_tag == "daily", Reminder.recipient_type == "user",
            Reminder.recipient_id == user.id))
        if digest is None or digest.status != "pending":
            continue  # today's digest already went out; the rest waits for tomorrow's
        folded = db.session.execute(
            update(Reminder).where(Reminder.recipient_type == "user",
                                   Reminder.recipient_id == user.id,
                                   Reminder.channel == "digest", Reminder.status == "pending")
            .values(status="digested", digest_id=digest.id)
            .returning(Reminder.enterprise_id).execution_options(synchronize_session=False))
        ledger_changes.note(firm for (firm,) in folded)
        made.append(digest.id)
    return made
