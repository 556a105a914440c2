"""Nightly upkeep of the ladder: rungs that expired overnight and fresh eligibility results.

Tasks take ids and are safe to run twice: recomputing overwrites the same rows, and a rung
refresh records a transition only when the rung actually changed. Each chunk is its own
transaction, tried again after a transient database error; a chunk that still fails leaves its
firms marked stale (`Enterprise.eligibility_stale_since`), and the catch-up run on beat
recomputes stale firms first.
"""

from __future__ import annotations

import logging
from collections.abc import Callable
from datetime import timedelta

from celery import group, shared_task
from celery.schedules import crontab
from sqlalchemy import select

from tracker.celery_app import call_with_retries
from tracker.clock import now_utc, today
from tracker.enterprises.models import Enterprise
from tracker.extensions import db
from tracker.heap import long_lived_objects_frozen

log = logging.getLogger(__name__)

#: enterprises recomputed per transaction, so one bad firm cannot hold a long lock
CHUNK = 200
#: enterprises per transaction in the nightly run and its shares: every chunk pays a dozen
#: statements and a commit whatever its size, which at 200 firms cost a first full run about
#: as much as reading the firms' facts; a chunk of 1,000 holds its rows for about a second
NIGHTLY_CHUNK = 1000
#: firms per task when the nightly run is fanned out to the workers
FAN_OUT = 2000
#: a stale mark younger than this is left to the worker it was handed to
CATCH_UP_GRACE = timedelta(minutes=2)
#: firms the catch-up run recomputes at most per run (the next run takes the rest)
CATCH_UP_LIMIT = 5000

BEAT_SCHEDULE = {
    "ladder-recompute-nightly": {
        "task": "tracker.ladder.recompute_all",
        # 02:30 Beijing time, after the day's imports; a run not started within 6 hours is
        # dropped, the next night's run does the same work.
        "schedule": crontab(hour=2, minute=30),
        "options": {"expires": 6 * 3600},
    },
    "ladder-recompute-stale": {
        "task": "tracker.ladder.recompute_stale",
        "schedule": crontab(minute="*/10"),
        "options": {"expires": 9 * 60},
    },
}


def refresh_rungs_and_results(enterprise_ids: list[int]) -> int:
    """Re-derive the rung (qualifications expire with time) and recompute results; flushes.

    A firm whose stored results hold today (results.settled_firms: computed after its facts,
    titles and rung last changed, with no title starting or running out since) is skipped
    without reading anything more: its digest vouches for its rung too (results.recompute).
    For the others the rungs are derived from the titles' dates read column-wise; only a firm
    whose rung moved today is loaded to rebuild its history; then their results.
    """
    from tracker.ladder import inputs, results, services, validity

    day = today()
    settled = results.settled_firms(enterprise_ids, day)
    look = [i for i in enterprise_ids if i not in settled]
    if not look:
        return len(settled)
    held = inputs.qualification_rows(look)
    rungs = dict(db.session.execute(select(Enterprise.id, Enterprise.current_rung)
                                    .where(inputs.among(Enterprise.id, look))).all())
    moved = [i for i, rung in rungs.items() if validity.rung_on(held[i], day) != rung]
    if moved:
        titles = services.qualifications_by_enterprise(moved)
        for enterprise in db.session.scalars(select(Enterprise).where(Enterprise.id.in_(moved))):
            services.refresh_rung(enterprise, source="expiry", reason="有效期届满或生效",
                                  qualifications=titles[enterprise.id])
    # the titles read above are the facts' titles too: refresh_rung writes none of them
    return len(settled) + results.recompute(look, day, qualifications=held, rungs_current=True)


def _recompute_only(enterprise_ids: list[int]) -> int:
    from tracker.ladder import results

    return results.recompute(enterprise_ids)


def _in_chunks(ids: list[int], work: Callable[[list[int]], int], size: int = CHUNK) -> int:
    """Each chunk committed on its own, retried on transient errors; a chunk that still fails
    is marked stale (in a transaction of its own) and the error raised after the rest ran.
    """
    from tracker.ladder import results

    def chunk_once(chunk: list[int]) -> int:
        done = work(chunk)
        db.session.commit()
        return done

    def mark(chunk: list[int]) -> None:
        results.mark_stale(chunk)
        db.session.commit()

    done, failure = 0, None
    with long_lived_objects_frozen():
        for start in range(0, len(ids), size):
            chunk = ids[start:start + size]
            try:
                done += call_with_retries(chunk_once, chunk)
            except Exception as exc:
                log.exception("eligibility recompute failed for %d firms; marked stale",
                              len(chunk))
                call_with_retries(mark, chunk)
                failure = exc
    if failure is not None:
        raise failure
    return done


@shared_task(name="tracker.ladder.recompute_enterprise", ignore_result=True)
def recompute_enterprise(enterprise_id: int) -> int:
    """Recompute one firm (e.g. after an admin changed local thresholds)."""
    return _in_chunks([enterprise_id], refresh_rungs_and_results)


@shared_task(name="tracker.ladder.recompute_many", ignore_result=True)
def recompute_many(enterprise_ids: list[int]) -> int:
    """Recompute a batch of firms after a bulk change (an import of thousands of rows)."""
    return _in_chunks(sorted(enterprise_ids), _recompute_only)


def _all_active_ids() -> list[int]:
    """Every active firm, stale ones first."""
    return list(db.session.scalars(
        select(Enterprise.id).where(Enterprise.status == "active")
        .order_by(Enterprise.eligibility_stale_since.is_(None), Enterprise.id)))


def recompute_all_inline() -> int:
    """Every active firm in this process, in chunks, each chunk its own transaction."""
    return _in_chunks(_all_active_ids(), refresh_rungs_and_results, NIGHTLY_CHUNK)


@shared_task(name="tracker.ladder.recompute_all", ignore_result=True, bind=True)
def recompute_all(self) -> int:
    """Every active firm, stale ones first: fanned out to the workers in chunk tasks.

    Run by a worker (beat's nightly entry, or after a threshold change) it only splits the
    firms into FAN_OUT-sized chunk tasks sent as one group, so every worker takes a share;
    called as a plain function (the CLI, tests, benchmarks) it does the work in this process.
    Returns how many firms it recomputed or sent.
    """
    if self.request.called_directly:
        return recompute_all_inline()
    ids = _all_active_ids()
    group(recompute_chunk.s(ids[start:start + FAN_OUT])
          for start in range(0, len(ids), FAN_OUT)).apply_async()
    return len(ids)


@shared_task(name="tracker.ladder.recompute_chunk", ignore_result=True)
def recompute_chunk(enterprise_ids: list[int]) -> int:
    """One share of the nightly run: rungs and results, NIGHTLY_CHUNK firms per transaction."""
    return _in_chunks(enterprise_ids, refresh_rungs_and_results, NIGHTLY_CHUNK)


@shared_task(name="tracker.ladder.recompute_stale", ignore_result=True)
def recompute_stale() -> int:
    """Catch-up: firms whose recompute was handed off or failed, oldest mark first."""
    cutoff = now_utc() - CATCH_UP_GRACE
    ids = list(db.session.scalars(
        select(Enterprise.id).where(Enterprise.eligibility_stale_since < cutoff)
        .order_by(Enterprise.eligibility_stale_since, Enterprise.id).limit(CATCH_UP_LIMIT)))
    return _in_chunks(ids, refresh_rungs_and_results)
