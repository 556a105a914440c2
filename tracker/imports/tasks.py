"""Celery tasks for imports: large files and large undos run here, with progress the job page
polls; both go through the job state machine (tracker.jobs: claim, retry, reaper)."""

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
    job = db.session.get(ImportJob, job_id)
    if (job.options or {}).get("mode") == "undo":
        return _undo(job_id)
    from tracker.imports import services

    dry_run = (job.options or {}).get("mode") != "run"
    return services.run_job(job_id, dry_run=dry_run).status


def _undo(job_id: int) -> str:
    """The inline undo's service, with progress; a refusal is kept on the job (rows and
    reasons) and the import stays done."""
    from tracker.imports import services

    job = db.session.get(ImportJob, job_id)
    user_id = (job.options or {}).get("undo_by")
    try:
        services.undo_job(job, user_id=user_id, progress=lambda done, total:
                          services.write_progress(job_id, done, total))
    except services.UndoRefused as refused:
        db.session.rollback()  # the claim is already committed; only the undo's writes go
        services.record_undo_refusal(db.session.get(ImportJob, job_id), refused)
        return "refused"
    finally:
        services.progress_path(job_id).unlink(missing_ok=True)
    return "undone"


@shared_task(name="imports.run_job")
def run_import_job(job_id: int) -> str:
    """Run, preview or undo a queued job; safe to run twice (only a queued job is claimed)."""
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
