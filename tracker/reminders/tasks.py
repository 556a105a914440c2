"""Celery tasks and beat entries: sweep, send (by id and in batches), reap, digest.

Tasks take ids, have explicit names and are safe to run twice. Nothing is scheduled days ahead:
beat runs the sweep every few minutes and the sweep fans out whatever is due.
"""

from __future__ import annotations

import math
import os
from datetime import date

from celery import shared_task
from celery.schedules import crontab
from flask import current_app
from sqlalchemy import func, select

from config import SWEEP_QUEUE
from tracker.celery_app import enqueue_after_commit, publish
from tracker.clock import now_utc, today
from tracker.extensions import db, writing
from tracker.reminders import services
from tracker.reminders.incremental import full_pass, scheduled_sweep
from tracker.reminders.models import Reminder

#: REMINDER_BEAT_SECONDS compresses sweep and reap to a fixed interval (the chaos run and tests
#: exercise the real beat that way); unset, the production crontabs apply.
_BEAT_SECONDS = float(os.environ.get("REMINDER_BEAT_SECONDS") or 0)

BEAT_SCHEDULE = {
    "reminders-sweep": {
        "task": "tracker.reminders.sweep",
        "schedule": _BEAT_SECONDS or crontab(minute="*/5"),
        # a sweep that waited past the next one is pointless
        "options": {"expires": _BEAT_SECONDS * 0.8 or 240},
    },
    "reminders-reap": {
        "task": "tracker.reminders.reap",
        "schedule": _BEAT_SECONDS or crontab(minute="2-59/5"),
        "options": {"expires": _BEAT_SECONDS * 0.8 or 240},
    },
    "reminders-digest": {
        "task": "tracker.reminders.digest",
        "schedule": crontab(hour=8, minute=0),  # Asia/Shanghai (CELERY timezone)
        "options": {"expires": 3 * 3600},
    },
}


def fan_out() -> int:
    """Enqueue enough batch tasks (after commit) for every due pending reminder."""
    pending = services.due_pending_count()
    size = current_app.config.get("REMINDER_BATCH_SIZE", 50)
    batches = min(math.ceil(pending / size), current_app.config.get("REMINDER_MAX_FANOUT", 20))
    for _ in range(batches):
        enqueue_after_commit(send_batch)
    return batches


def sweep_now(as_of: date | None = None, *, scheduled: bool = False) -> dict:
    """One sweep: insert what is due, commit, then enqueue the sending.

    `scheduled` (beat's sweep): the day's full pass once, then only the firms marked since
    (reminders.incremental); otherwise a full pass (the CLI).
    """
    day = as_of or today()
    answer: dict = scheduled_sweep(day) if scheduled else full_pass(day)
    answer["batches"] = fan_out()
    db.session.commit()
    return answer


@shared_task(name="tracker.reminders.sweep", ignore_result=True, queue=SWEEP_QUEUE)
def sweep() -> dict:
    return sweep_now(scheduled=True)


# waits on the mail server between its commits: no write lock held meanwhile (FlaskTask)
@shared_task(name="tracker.reminders.send", ignore_result=True, begins_as_writer=False)
def send(reminder_id: int) -> str:
    claimed_at = services.claim(reminder_id)
    db.session.commit()
    if claimed_at is None:
        return "not-pending"
    outcome = services.send_claimed(reminder_id, claimed_at)
    db.session.commit()
    if outcome.status == "retry":
        publish(send, reminder_id, countdown=outcome.delay)
    return outcome.status


# waits on the mail server between its commits: no write lock held meanwhile (FlaskTask)
@shared_task(name="tracker.reminders.send_batch", ignore_result=True, begins_as_writer=False)
def send_batch() -> dict:
    size = current_app.config.get("REMINDER_BATCH_SIZE", 50)
    with writing():  # the claim reads the due ids, then updates them: briefly a writer
        claimed = services.claim_batch(size)
        db.session.commit()
    counts: dict[str, int] = {}
    waiting = [reminder_id for reminder_id, _claimed_at in claimed]
    for reminder_id, claimed_at in claimed:
        # heartbeat: the rows still waiting in this batch keep their lease while we work
        services.heartbeat(waiting, claimed_at)
        db.session.commit()
        waiting.remove(reminder_id)
        outcome = services.send_claimed(reminder_id, claimed_at)
        db.session.commit()
        counts[outcome.status] = counts.get(outcome.status, 0) + 1
        if outcome.status == "retry":
            # the retry is its own task, due when the backoff ends; the sweep is only the net
            publish(send, reminder_id, countdown=outcome.delay)
    if len(claimed) == size:
        publish(send_batch)  # more is probably waiting
    return counts


@shared_task(name="tracker.reminders.reap", ignore_result=True, queue=SWEEP_QUEUE)
def reap() -> int:
    reaped = services.reap()
    if reaped:
        fan_out()
    db.session.commit()
    return reaped


@shared_task(name="tracker.reminders.digest", ignore_result=True)
def digest() -> int:
    made = services.build_digests(today())
    for reminder_id in made:
        enqueue_after_commit(send, reminder_id)
    db.session.commit()
    return len(made)


def enqueue_pending_for(enterprise_ids: list[int]) -> int:
    """After a web save: one batch task (after commit) if these enterprises have due reminders.

    One publish per request, not one per reminder: with a hung broker each publish can cost
    the transport's socket timeout, and a request must not multiply it.
    """
    count = db.session.scalar(select(func.count(Reminder.id)).where(
        Reminder.enterprise_id.in_(enterprise_ids), Reminder.status == "pending",
        Reminder.channel == "email", services.due_clause(now_utc()))) or 0
    if count:
        enqueue_after_commit(send_batch)
    return count
