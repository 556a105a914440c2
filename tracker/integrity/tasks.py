"""The nightly invariant check, stored for the admin page."""

from __future__ import annotations

from celery import shared_task
from celery.schedules import crontab

from tracker.extensions import db

BEAT_SCHEDULE = {
    "integrity-check-nightly": {
        "task": "tracker.integrity.check",
        # 04:30 Beijing time: after the 02:30 ladder recompute has refreshed rungs and results,
        # so what is reported is drift, not the night's own pending work.
        "schedule": crontab(hour=4, minute=30),
        "options": {"expires": 6 * 3600},
    },
}


# reads at length before it records: no write lock held meanwhile (FlaskTask)
@shared_task(name="tracker.integrity.check", ignore_result=True, begins_as_writer=False)
def check() -> int:
    """Run every invariant and store the outcome; returns how many violations were found."""
    from tracker.integrity.services import check_and_record

    run = check_and_record(trigger="beat")
    db.session.commit()
    return run.violation_count
