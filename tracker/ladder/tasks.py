"""Nightly upkeep of the ladder: rungs that expired overnight and fresh eligibility results.

Tasks take ids and are safe to run twice: recomputing overwrites the same rows, and a rung
refresh records a transition only when the rung actually changed.
"""

from __future__ import annotations

from celery import shared_task
from celery.schedules import crontab
from sqlalchemy import select

from tracker.enterprises.models import Enterprise
from tracker.extensions import db

#: enterprises recomputed per transaction, so one bad firm cannot hold a long lock
CHUNK = 200

BEAT_SCHEDULE = {
    "ladder-recompute-nightly": {
        "task": "tracker.ladder.recompute_all",
        # 02:30 Beijing time, after the day's imports; a run not started within 6 hours is
        # dropped, the next night's run does the same work.
        "schedule": crontab(hour=2, minute=30),
        "options": {"expires": 6 * 3600},
    },
}


def refresh_rungs_and_results(enterprise_ids: list[int]) -> int:
    """Re-derive the rung (qualifications expire with time) and recompute results; flushes."""
    from tracker.ladder import results, services

    firms = db.session.scalars(select(Enterprise).where(Enterprise.id.in_(enterprise_ids)))
    held = services.qualifications_by_enterprise(enterprise_ids)
    for enterprise in firms:
        services.refresh_rung(enterprise, source="expiry", reason="有效期届满或生效",
                              qualifications=held[enterprise.id])
    return results.recompute(enterprise_ids)


@shared_task(name="tracker.ladder.recompute_enterprise", ignore_result=True)
def recompute_enterprise(enterprise_id: int) -> int:
    """Recompute one firm (e.g. after an admin changed local thresholds)."""
    done = refresh_rungs_and_results([enterprise_id])
    db.session.commit()
    return done


@shared_task(name="tracker.ladder.recompute_many", ignore_result=True)
def recompute_many(enterprise_ids: list[int]) -> int:
    """Recompute a batch of firms after a bulk change (an import of thousands of rows)."""
    from tracker.ladder import results

    done = 0
    for start in range(0, len(enterprise_ids), CHUNK):
        done += results.recompute(enterprise_ids[start:start + CHUNK])
        db.session.commit()
    return done


@shared_task(name="tracker.ladder.recompute_all", ignore_result=True)
def recompute_all() -> int:
    """Every active firm, in chunks, each chunk its own transaction."""
    ids = list(db.session.scalars(
        select(Enterprise.id).where(Enterprise.status == "active").order_by(Enterprise.id)))
    done = 0
    for start in range(0, len(ids), CHUNK):
        done += refresh_rungs_and_results(ids[start:start + CHUNK])
        db.session.commit()
    return done
