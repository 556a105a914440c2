"""Celery tasks and beat entries: deliver (by id), the sweep (expiries, reaper, safety net).

Tasks take ids, have explicit names and are safe to run twice: a delivery is sent only by
the task that won its claim. A transient failure schedules its own countdown retry; the
sweep only catches what a lost task or a broker outage left behind.
"""

from __future__ import annotations

import os

from celery import shared_task
from celery.schedules import crontab
from flask import current_app

from config import SWEEP_QUEUE
from tracker.celery_app import enqueue_after_commit, publish
from tracker.extensions import db
from tracker.webhooks import events, services

#: WEBHOOK_BEAT_SECONDS compresses the sweep to a fixed interval (tests run the real beat so)
_BEAT_SECONDS = float(os.environ.get("WEBHOOK_BEAT_SECONDS") or 0)

BEAT_SCHEDULE = {
    "webhooks-sweep": {
        "task": "tracker.webhooks.sweep",
        "schedule": _BEAT_SECONDS or crontab(minute="*"),
        "options": {"expires": _BEAT_SECONDS * 0.8 or 50},
    },
}


def enqueue(delivery_ids: list[int]) -> None:
    """After the commit, one publish per transaction whatever the number of deliveries.

    With a hung broker each publish can cost the transport's socket timeout, and a request
    must not multiply it: several deliveries go as one fan-out task the worker splits.
    """
    if len(delivery_ids) == 1:
        enqueue_after_commit(deliver, delivery_ids[0])
    elif delivery_ids:
        enqueue_after_commit(fan_out, list(delivery_ids))


@shared_task(name="tracker.webhooks.fan_out", ignore_result=True)
def fan_out(delivery_ids: list[int]) -> int:
    """One deliver task per delivery, so a slow receiver delays only its own."""
    for delivery_id in delivery_ids:
        publish(deliver, delivery_id)
    return len(delivery_ids)


# waits on the receiver between its commits: no write lock held meanwhile (FlaskTask)
@shared_task(name="tracker.webhooks.deliver", ignore_result=True, begins_as_writer=False)
def deliver(delivery_id: int) -> str:
    claimed_at = services.claim(delivery_id)
    db.session.commit()
    if claimed_at is None:
        return "not-pending"
    outcome = services.send_claimed(delivery_id, claimed_at)
    db.session.commit()
    if outcome.status == "retry":
        # the retry is its own task, due when the backoff ends; the sweep is only the net
        publish(deliver, delivery_id, countdown=outcome.delay)
    return outcome.status


def sweep_now() -> dict:
    """Record expiries, reclaim dead claims, enqueue what is due (after the commit)."""
    made = events.record_expiries()
    reaped = services.reap()
    due = services.due_ids(int(current_app.config.get("WEBHOOK_SWEEP_BATCH", 200)))
    for delivery_id in due:
        enqueue_after_commit(deliver, delivery_id)
    db.session.commit()
    return {"expiries": len(made), "reaped": reaped, "enqueued": len(due)}


@shared_task(name="tracker.webhooks.sweep", ignore_result=True, queue=SWEEP_QUEUE)
def sweep() -> dict:
    return sweep_now()


@shared_task(name="tracker.webhooks.observe", ignore_result=True)
def observe_many(enterprise_ids: list[int], chunk: int | None = None) -> int:
    """The pipeline's bulk path: a large commit's firms, looked at by a worker.

    One message carries several chunks (tracker.changes.task_parts); each `chunk` firms (the
    inline limit) are observed and committed on their own, so a transaction stays as small
    as when each chunk was a message of its own.
    """
    size, made = chunk or len(enterprise_ids) or 1, 0
    for start in range(0, len(enterprise_ids), size):
        observed = events.observe(enterprise_ids[start:start + size])
        enqueue(observed)
        db.session.commit()
        made += len(observed)
    return made
