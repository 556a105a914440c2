"""Celery tasks for imports: large files run here, with progress the job page polls."""

from __future__ import annotations

from celery import shared_task
from celery.schedules import crontab

from tracker import jobs
from tracker.extensions import db
from tracker.imports.models import ImportJob

BEAT_SCHEDULE = {
    "imports-purge-uploads": {
        "task": "imports.purge_uploads",
        "schedule": crontab(hour=3, minute=17),  # daily, at a quiet hour
        "options": {"expires": 6 * 3600},
    },
}


def _run(job_id: int) -> str:
    from tracker.imports import services

    job = db.session.get(ImportJob, job_id)
    dry_run = (job.options or {}).get("mode") != "run"
    return services.run_job(job_id, dry_run=dry_run).status


@shared_task(name="imports.run_job")
def run_import_job(job_id: int) -> str:
    """Run or preview a queued job; safe to run twice (only a queued job is claimed)."""
    return jobs.execute(ImportJob, job_id, _run)


def _progress_seen(job: ImportJob):
    from tracker.imports import services

    return services.progress_seen(job.id)


jobs.register(ImportJob, run_import_job, audit_type="import", last_seen=_progress_seen)


@shared_task(name="imports.purge_uploads", ignore_result=True)
def purge_uploads() -> int:
    """Beat: delete stored uploads past UPLOAD_RETENTION_DAYS; safe to run twice."""
    from tracker.imports import retention

    return retention.purge_expired()
