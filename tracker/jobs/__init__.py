"""Background jobs as rows: queued → running → done | failed | cancelled, and their reaper.

The jobs table is the truth, not the broker. A message never sent (broker down), or lost with
a killed worker (kombu's SQLite transport leaves it invisible for ever), is found by the reaper
on beat and sent again; after JOB_MAX_ATTEMPTS hand-offs the job fails with the reason, and a
person can retry or cancel it from its page. A worker owns a running job through a token: when
the reaper or a person has taken the job back, the late worker's whole transaction is rolled
back instead of finishing a job it no longer owns.
"""

from __future__ import annotations

import logging
import uuid
from collections.abc import Callable
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any

from celery import shared_task
from celery.schedules import crontab
from flask import current_app
from flask_babel import gettext as _
from sqlalchemy import String, and_, or_, select, update
from sqlalchemy.orm import Mapped, mapped_column

from tracker.celery_app import call_with_retries, enqueue_after_commit, is_transient
from tracker.clock import now_utc
from tracker.extensions import db
from tracker.models_base import UTCDateTime

log = logging.getLogger(__name__)

QUEUED, RUNNING, FAILED, CANCELLED = "queued", "running", "failed", "cancelled"
#: states in which a worker still owes the job some work
ACTIVE = (QUEUED, RUNNING)
#: states from which a person may send the job again
RETRYABLE = (FAILED, CANCELLED)

#: defaults for the config keys of the same names
JOB_STUCK_SECONDS = 15 * 60
JOB_MAX_ATTEMPTS = 3

BEAT_SCHEDULE = {
    "jobs-reap": {
        "task": "tracker.jobs.reap",
        "schedule": crontab(),  # every minute; one indexed query when nothing is stuck
        "options": {"expires": 55},
    },
}


class JobMixin:
    """Columns every job-like row carries besides its own `status`, `message`, `finished_at`."""

    #: how many times the job has been handed to a worker since a person last (re)started it
    attempts: Mapped[int] = mapped_column(default=0, server_default="0")
    #: when it was last handed to the broker
    queued_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
    #: when a worker last showed it was alive on this job (claim, or progress)
    heartbeat_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
    #: the running worker's claim; NULL when no worker owns the job
    worker_token: Mapped[str | None] = mapped_column(String(32))


@dataclass(frozen=True)
class JobKind:
    """How the reaper finds and re-sends one kind of job."""

    model: Any
    #: Celery task taking the job id
    task: Any
    #: audit entity type of the job rows
    audit_type: str
    #: extra sign of life outside the database (a progress file), or None
    last_seen: Callable[[Any], datetime | None] | None = None


_KINDS: dict[str, JobKind] = {}


def register(model: Any, task: Any, *, audit_type: str,
             last_seen: Callable[[Any], datetime | None] | None = None) -> None:
    """Declare a job table and the task that runs its rows, so the reaper watches it."""
    _KINDS[model.__tablename__] = JobKind(model, task, audit_type, last_seen)


def kind_of(model: Any) -> JobKind:
    return _KINDS[model.__tablename__]


def stuck_seconds() -> int:
    return int(current_app.config.get("JOB_STUCK_SECONDS", JOB_STUCK_SECONDS))


def max_attempts() -> int:
    return int(current_app.config.get("JOB_MAX_ATTEMPTS", JOB_MAX_ATTEMPTS))


# --- the web (or CLI) side -------------------------------------------------------------------

def queue(job: Any) -> None:
    """Put a job in the queue; the task is sent after the caller's commit. Flushes."""
    job.status, job.message, job.finished_at = QUEUED, None, None
    job.attempts, job.queued_at = 1, now_utc()
    job.heartbeat_at = job.worker_token = None
    db.session.flush()
    enqueue_after_commit(kind_of(type(job)).task, job.id)


def cancel(job: Any, *, actor_id: int | None) -> bool:
    """Stop a queued or running job; a worker still on it will roll its work back. Flushes."""
    model = type(job)
    done = db.session.execute(
        update(model).where(model.id == job.id, model.status.in_(ACTIVE))
        .values(status=CANCELLED, worker_token=None, finished_at=now_utc(),
                message=_("已由用户取消"))
        .execution_options(synchronize_session=False)).rowcount == 1
    if done:
        db.session.refresh(job)
        _audit(job, "cancel", actor_id, _("取消任务 #%(id)d", id=job.id))
    return done


def retry(job: Any, *, actor_id: int | None) -> bool:
    """Send a failed or cancelled job again, with a fresh count of attempts. Flushes."""
    if job.status not in RETRYABLE:
        return False
    previous = job.status
    queue(job)
    _audit(job, "retry", actor_id, _("重试任务 #%(id)d（此前：%(s)s）", id=job.id, s=previous))
    return True


def _audit(job: Any, action: str, actor_id: int | None, summary: str) -> None:
    from tracker.audit import services as audit

    audit.record(kind_of(type(job)).audit_type, job.id, action, {}, actor_id=actor_id,
                 summary=summary)
    db.session.flush()


# --- the worker side -------------------------------------------------------------------------

def claim(model: Any, job_id: int) -> str | None:
    """Take a queued job for this worker and commit; None when it is not ours to run.

    One conditional UPDATE: two messages for the same job (the reaper re-sent it) cannot both
    win it.
    """
    token = uuid.uuid4().hex
    won = db.session.execute(
        update(model).where(model.id == job_id, model.status == QUEUED)
        .values(status=RUNNING, worker_token=token, heartbeat_at=now_utc())
        .execution_options(synchronize_session=False)).rowcount == 1
    db.session.commit()
    return token if won else None


def _still_owned(model: Any, job_id: int, token: str) -> bool:
    """Release the claim inside the worker's transaction; False when the job was taken back."""
    return db.session.execute(
        update(model).where(model.id == job_id, model.worker_token == token)
        .values(worker_token=None, heartbeat_at=now_utc())
        .execution_options(synchronize_session=False)).rowcount == 1


def fail(model: Any, job_id: int, reason: str, *, token: str | None = None) -> bool:
    """Mark a job failed with the reason shown on its page, and commit."""
    condition = [model.id == job_id]
    condition.append(model.worker_token == token if token else model.status.in_(ACTIVE))
    done = db.session.execute(
        update(model).where(*condition)
        .values(status=FAILED, message=reason[:1000], worker_token=None, finished_at=now_utc())
        .execution_options(synchronize_session=False)).rowcount == 1
    db.session.commit()
    return done


def execute(model: Any, job_id: int, work: Callable[[int], str]) -> str:
    """Run one job on a worker: claim it, do `work` (which flushes and sets the outcome on
    the row), commit only if the job is still ours; transient DB errors are tried again, and
    anything else ends as a visible failed job with the reason.
    """
    token = call_with_retries(claim, model, job_id)
    if token is None:
        return "skipped"

    def attempt() -> str:
        outcome = work(job_id)
        if not _still_owned(model, job_id, token):
            db.session.rollback()
            log.warning("%s #%s was taken back while running; its work is discarded",
                        model.__tablename__, job_id)
            return "superseded"
        db.session.commit()
        return outcome

    try:
        return call_with_retries(attempt)
    except Exception as exc:
        db.session.rollback()
        log.exception("%s #%s failed", model.__tablename__, job_id)
        reason = (_("数据库持续繁忙，任务未能完成；请稍后点击“重试”") if is_transient(exc)
                  else _("任务运行时出现系统错误（%(error)s）；可点击“重试”，仍失败请联系管理员",
                         error=exc.__class__.__name__))
        call_with_retries(fail, model, job_id, reason, token=token)
        return FAILED


# --- the reaper ------------------------------------------------------------------------------

def stuck_filter(model: Any, now: datetime | None = None) -> Any:
    """SQL condition: queued or running past the stuck limit (the invariant checker uses it)."""
    cutoff = (now or now_utc()) - timedelta(seconds=stuck_seconds())
    return or_(and_(model.status == QUEUED, or_(model.queued_at.is_(None),
                                                  model.queued_at < cutoff)),
               and_(model.status == RUNNING, or_(model.heartbeat_at.is_(None),
                                                   model.heartbeat_at < cutoff)))


def reap_once(now: datetime | None = None) -> dict[str, int]:
    """Re-send stuck jobs, or fail them after too many attempts; flushes, caller commits.

    Each change is a conditional UPDATE on what was read, so a worker finishing the same job
    at the same moment wins and the reaper leaves it alone.
    """
    now = now or now_utc()
    cutoff = now - timedelta(seconds=stuck_seconds())
    limit = max_attempts()
    counts = {"requeued": 0, "failed": 0}
    for kind in _KINDS.values():
        model = kind.model
        stuck = db.session.scalars(select(model).where(stuck_filter(model, now))
                                   .order_by(model.id)).all()
        for job in stuck:
            seen = kind.last_seen(job) if kind.last_seen else None
            if job.status == RUNNING and seen is not None and seen >= cutoff:
                continue  # still making progress; its transaction is just long
            same = [model.id == job.id, model.status == job.status,
                    model.attempts == job.attempts,
                    model.worker_token.is_(None) if job.worker_token is None
                    else model.worker_token == job.worker_token]
            was = _("排队") if job.status == QUEUED else _("运行")
            minutes = stuck_seconds() // 60
            if job.attempts >= limit:
                reason = _("任务%(was)s超过 %(m)d 分钟仍未完成，已尝试 %(n)d 次，不再自动重试；"
                           "请检查后台服务后点击“重试”", was=was, m=minutes, n=job.attempts)
                values = {"status": FAILED, "message": reason, "worker_token": None,
                          "finished_at": now}
                action, key = "fail", "failed"
            else:
                reason = _("任务%(was)s超过 %(m)d 分钟仍未完成，已自动重新排队（第 %(n)d 次）",
                           was=was, m=minutes, n=job.attempts + 1)
                values = {"status": QUEUED, "attempts": model.attempts + 1, "queued_at": now,
                          "worker_token": None, "heartbeat_at": None, "message": reason}
                action, key = "requeue", "requeued"
            changed = db.session.execute(
                update(model).where(*same).values(**values)
                .execution_options(synchronize_session=False)).rowcount == 1
            if not changed:
                continue
            counts[key] += 1
            from tracker.audit import services as audit

            audit.record(kind.audit_type, job.id, action, {}, actor_id=None,
                         summary=reason)
            if key == "requeued":
                enqueue_after_commit(kind.task, job.id)
            log.warning("%s #%s: %s", model.__tablename__, job.id, reason)
    db.session.flush()
    return counts


@shared_task(name="tracker.jobs.reap", ignore_result=True)
def reap() -> dict[str, int]:
    """Beat: the one place stuck jobs come back from."""

    def once() -> dict[str, int]:
        counts = reap_once()
        db.session.commit()
        return counts

    return call_with_retries(once)
