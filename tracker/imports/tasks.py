"""Celery tasks for imports: large files run here, with progress the job page polls."""

from __future__ import annotations

from celery import shared_task

from tracker.extensions import db
from tracker.imports.models import ImportJob


@shared_task(name="imports.run_job")
def run_import_job(job_id: int) -> str:
    """Run or preview a queued job; safe to run twice (a finished job is left alone)."""
    from tracker.imports import services

    job = db.session.get(ImportJob, job_id)
    if job is None or job.status not in ("queued", "running"):
        return "skipped"
    dry_run = (job.options or {}).get("mode") != "run"
    job.status = "running"
    db.session.commit()
    try:
        job = services.run_job(job_id, dry_run=dry_run)
        db.session.commit()
    except Exception:
        db.session.rollback()
        job = db.session.get(ImportJob, job_id)
        job.status, job.message = "failed", "导入过程中出现系统错误，请联系管理员后重试"
        db.session.commit()
        raise
    return job.status
