"""Delivery: claim due reminders, send one, record the result; the lease and the reaper.

Every state change is a guarded UPDATE (`… WHERE status = 'pending'`), so two workers, a
resend and a reaper can race without a reminder being sent twice by us.
"""

from __future__ import annotations

import logging
import random
from dataclasses import dataclass
from datetime import UTC, datetime, time, timedelta
from typing import Any

from flask import current_app
from sqlalchemy import and_, func, or_, select, update

from tracker import ledger_changes, mail
from tracker.clock import LOCAL_TZ, as_utc, now_utc, to_local
from tracker.enterprises.models import Contact
from tracker.extensions import db
from tracker.reminders.models import OutboxMessage, Reminder
from tracker.reminders.services.composing import compose

# the logger keeps the name it had before the split, so log records read as they did
log = logging.getLogger("tracker.reminders.services")


def setting(name: str, default: Any) -> Any:
    return current_app.config.get(name, default)


def due_clause(now: datetime):
    return or_(Reminder.next_attempt_at.is_(None), Reminder.next_attempt_at <= now)


def lease_seconds() -> int:
    """A claim holds for one whole conversation plus a margin, renewed before each send."""
    return int(setting("REMINDER_SMTP_TIMEOUT", 20)) + int(setting("REMINDER_STUCK_SECONDS", 600))


def claim(reminder_id: int) -> datetime | None:
    """Move one due pending reminder to `sending`; returns the claim time, or None if taken."""
    now = now_utc()
    claimed = db.session.execute(
        update(Reminder).where(Reminder.id == reminder_id, Reminder.status == "pending",
                               Reminder.channel == "email", due_clause(now))
        .values(status="sending", claimed_at=now, attempts=Reminder.attempts + 1,
                lease_until=now + timedelta(seconds=lease_seconds()))
        .returning(Reminder.enterprise_id).execution_options(synchronize_session=False)
    ).all()
    ledger_changes.note(firm for (firm,) in claimed)
    return now if len(claimed) == 1 else None


def claim_batch(limit: int) -> list[tuple[int, datetime]]:
    """Claim up to `limit` due reminders; SKIP LOCKED lets concurrent batches not collide."""
    now = now_utc()
    query = (select(Reminder.id).where(Reminder.status == "pending", Reminder.channel == "email",
                                       due_clause(now))
             .order_by(Reminder.id).limit(limit))
    if db.session.get_bind().dialect.name == "postgresql":
        query = query.with_for_update(skip_locked=True)
    ids = list(db.session.scalars(query))
    if not ids:
        return []
    claimed = db.session.execute(
        update(Reminder).where(Reminder.id.in_(ids), Reminder.status == "pending")
        .values(status="sending", claimed_at=now, attempts=Reminder.attempts + 1,
                lease_until=now + timedelta(seconds=lease_seconds()))
        .returning(Reminder.id, Reminder.enterprise_id)
        .execution_options(synchronize_session=False)
    ).all()
    ledger_changes.note(firm for _rid, firm in claimed)
    return [(rid, now) for rid in sorted(rid for rid, _firm in claimed)]


def heartbeat(reminder_ids: list[int], claimed_at: datetime) -> set[int]:
    """Renew the lease of rows we still hold (claimed_at is our claim's token).

    A batch renews every row it has yet to send before each conversation, so rows waiting
    their turn are not taken for abandoned; returns the ids still ours.
    """
    if not reminder_ids:
        return set()
    return set(db.session.scalars(
        update(Reminder).where(Reminder.id.in_(reminder_ids), Reminder.status == "sending",
                               Reminder.claimed_at == claimed_at)
        .values(lease_until=now_utc() + timedelta(seconds=lease_seconds()))
        .returning(Reminder.id).execution_options(synchronize_session=False)).all())


def backoff_seconds(attempts: int) -> int:
    """Bounded exponential backoff with jitter: base·2^(n-1), at most REMINDER_BACKOFF_MAX."""
    base = setting("REMINDER_BACKOFF_BASE", 60)
    cap = setting("REMINDER_BACKOFF_MAX", 3600)
    delay = min(cap, base * 2 ** max(attempts - 1, 0))
    return max(1, int(delay * random.uniform(0.8, 1.2)))


def retry_deadline(reminder: Reminder) -> datetime:
    """Until when a transiently failing reminder is worth retrying.

    Until the end of its due date (Beijing time): a reminder still useful tomorrow keeps
    trying. One made on or after its due date (overdue steps, digests) still gets
    REMINDER_RETRY_MIN_HOURS from when it was made.
    """
    end_of_due = datetime.combine(reminder.occurrence_on + timedelta(days=1), time.min,
                                  tzinfo=LOCAL_TZ).astimezone(UTC)
    made = as_utc(reminder.created_at) or now_utc()
    floor = made + timedelta(hours=float(setting("REMINDER_RETRY_MIN_HOURS", 72)))
    return max(end_of_due, floor)


@dataclass
class Outcome:
    status: str  # sent, retry, failed, expired, skipped
    delay: int = 0


def send_claimed(reminder_id: int, claimed_at: datetime) -> Outcome:
    """Send one claimed reminder and record the result; the caller commits before and after.

    The task begins its transactions as a reader (no write lock while SMTP talks), so none of
    them may read and then write: on SQLite a read that another connection's commit has made
    stale cannot turn into a write ("database is locked", at once). What the outcome needs is
    read first and that transaction ends before the mail; each write after it begins its own.
    """
    if reminder_id not in heartbeat([reminder_id], claimed_at):
        return Outcome("skipped")  # the reaper took it back: our lease had run out
    db.session.commit()
    reminder = db.session.get(Reminder, reminder_id)
    reason = _no_longer_wanted(reminder)
    composed, broken = None, None
    if reason is None:
        try:
            composed = compose(reminder)
        except Exception as exc:  # a broken template must not loop through the reaper forever
            log.exception("cannot compose reminder %s", reminder_id)
            broken = f"compose: {exc}"
    attempts, deadline = reminder.attempts, retry_deadline(reminder)
    outbox = {"to_address": reminder.to_address, "enterprise_id": reminder.enterprise_id}
    db.session.commit()  # the read ends here, before the mail and the writes
    if reason:
        _finish(reminder_id, claimed_at, status="skipped", last_error=reason)
        return Outcome("skipped")
    if broken:
        _finish(reminder_id, claimed_at, status="failed", last_error=broken)
        return Outcome("failed")
    message, summary = composed
    try:
        mail.deliver(message)
    except mail.PermanentMailError as exc:
        _finish(reminder_id, claimed_at, status="failed", last_error=f"permanent: {exc}")
        return Outcome("failed")
    except mail.TransientMailError as exc:
        # never permanent by the clock of attempts alone: retry at the capped interval until
        # the reminder stops being useful, then say so
        delay = backoff_seconds(attempts)
        retry_at = now_utc() + timedelta(seconds=delay)
        if retry_at > deadline:
            _finish(reminder_id, claimed_at, status="expired", next_attempt_at=None,
                    last_error=f"expired: still failing at its deadline "
                               f"{to_local(deadline):%Y-%m-%d %H:%M} after "
                               f"{attempts} attempts: {exc}")
            return Outcome("expired")
        _finish(reminder_id, claimed_at, status="pending", last_error=f"transient: {exc}",
                next_attempt_at=retry_at)
        return Outcome("retry", delay)
    updated = _finish(reminder_id, claimed_at, status="sent", sent_at=now_utc(),
                      last_error=None, next_attempt_at=None)
    if updated:
        db.session.add(OutboxMessage(
            reminder_id=reminder_id, message_id=message["Message-ID"],
            subject=str(message["Subject"]), body_text=summary, transport=mail.transport_name(),
            **outbox))
    return Outcome("sent")


def _no_longer_wanted(reminder: Reminder) -> str | None:
    """Things that changed since the sweep made the row: opt-outs and archived firms."""
    if reminder.enterprise is not None and reminder.enterprise.status != "active":
        return "企业已归档"
    if reminder.recipient_type == "contact":
        contact = db.session.get(Contact, reminder.recipient_id)
        if contact is None or contact.unsubscribed_at is not None:
            return "收件人已退订或已删除"
        if not contact.receives_reminders:
            return "联系人已设置为不接收提醒"
    return None


def _finish(reminder_id: int, claimed_at: datetime, **values: Any) -> bool:
    finished = db.session.execute(
        update(Reminder).where(Reminder.id == reminder_id, Reminder.status == "sending",
                               Reminder.claimed_at == claimed_at)
        .values(lease_until=None, **values).returning(Reminder.enterprise_id)
        .execution_options(synchronize_session=False)).all()
    if len(finished) != 1:
        log.warning("reminder %s was reclaimed while sending", reminder_id)
    ledger_changes.note(firm for (firm,) in finished)
    return len(finished) == 1


def reap(now: datetime | None = None) -> int:
    """Return rows whose sender provably stopped (its lease ran out) to `pending`.

    A live sender renews the lease before every conversation and a conversation is bounded
    by REMINDER_SMTP_TIMEOUT, so an expired lease means nobody is talking to SMTP for it.
    """
    now = now or now_utc()
    stuck_before = now - timedelta(seconds=lease_seconds())
    reaped = db.session.execute(
        update(Reminder).where(Reminder.status == "sending", or_(
            Reminder.lease_until < now,
            and_(Reminder.lease_until.is_(None), Reminder.claimed_at < stuck_before)))
        .values(status="pending", next_attempt_at=None, lease_until=None,
                last_error="reclaimed: the sender stopped mid-send")
        .returning(Reminder.enterprise_id).execution_options(synchronize_session=False)).all()
    ledger_changes.note(firm for (firm,) in reaped)
    return len(reaped)


def due_pending_count(now: datetime | None = None) -> int:
    now = now or now_utc()
    return db.session.scalar(select(func.count(Reminder.id)).where(
        Reminder.status == "pending", Reminder.channel == "email", due_clause(now))) or 0
