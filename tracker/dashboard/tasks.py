"""The beat job writing each finished month's counts (and any month missing before it)."""

from __future__ import annotations

from celery import shared_task
from celery.schedules import crontab

from tracker import snapshots
from tracker.dashboard import history, redo
from tracker.extensions import db

BEAT_SCHEDULE = {
    "dashboard-month-end-counts": {
        "task": "tracker.dashboard.record_month_ends",
        # Daily at 03:10 Beijing time, after the nightly ladder run has recorded yesterday's
        # expiries: on the 1st it writes the month just ended; other days find nothing missing
        # (or catch up a month a stopped worker missed). Not started within 12 h: dropped.
        "schedule": crontab(hour=3, minute=10),
        "options": {"expires": 12 * 3600},
    },
    # The maintained figures count titles valid today: recount everything just after
    # midnight (Beijing time) and again after the nightly ladder run has recorded expiries.
    "dashboard-refresh-aggregates-midnight": {
        "task": "tracker.dashboard.refresh_aggregates",
        "schedule": crontab(hour=0, minute=2),
        "options": {"expires": 6 * 3600},
    },
    "dashboard-refresh-aggregates-after-ladder": {
        "task": "tracker.dashboard.refresh_aggregates",
        "schedule": crontab(hour=3, minute=20),
        "options": {"expires": 6 * 3600},
    },
}


@shared_task(name="tracker.dashboard.refresh_aggregates", ignore_result=True)
def refresh_aggregates(force: bool = True) -> int:
    """Recount every maintained dashboard figure (nightly; after a bulk change).

    `force=False` (asked after a bulk change or a worker's recompute): nothing to do when the
    figures are already current, so a burst of requests costs one recount.
    """
    from tracker.dashboard import aggregates

    if not force and aggregates.current_state() is not None:
        return 0
    # end the read (nothing written): run by the worker this task began as a writer, but a
    # caller of its body in a deferred transaction must begin the refresh with its lock
    # (SQLite, see aggregates.refresh)
    db.session.commit()
    written = aggregates.refresh()
    db.session.commit()
    return written


@shared_task(name="tracker.dashboard.record_month_ends", ignore_result=True)
def record_month_ends() -> int:
    """Rewrite the months a backdated change marked (a bulk commit whose worker never ran),
    then write every finished month without stored counts; safe to run twice."""
    rebuilt = redo.rebuild()
    written = history.backfill()
    if rebuilt:
        snapshots.bump()  # the charts kept in the cache still show the marked months
    db.session.commit()
    return len(written)


@shared_task(name="tracker.dashboard.rebuild_marked_months", ignore_result=True)
def rebuild_marked_months() -> int:
    """Rewrite the stored months a bulk commit's backdated changes marked (tracker.changes)."""
    months = redo.rebuild()
    if months:
        snapshots.bump()
    db.session.commit()
    return len(months)
