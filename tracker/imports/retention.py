"""Stored uploads and reconciliation lists are deleted after UPLOAD_RETENTION_DAYS (beat, daily).

What is kept whatever its age:
- the file of a job still queued or running: the worker is about to read it;
- the file of a finished ("done") import while it can be undone: undo works from the recorded
  before/after values, but the person deciding to undo needs the original to see what came in.
  Undo has no time limit today, so these stay until the import is undone; from then on they
  age like every other file.
Age is the job's last event (created, finished, undone) for a job's file, and the file's own
modification time for everything else (reconciliation lists and their parsed cache, progress
files, uploads refused before a job was made).
"""

from __future__ import annotations

import logging
from datetime import UTC, datetime, timedelta
from pathlib import Path

from flask import current_app
from sqlalchemy import select

from tracker import jobs as job_states
from tracker.clock import now_utc
from tracker.extensions import db
from tracker.imports.models import ImportJob
from tracker.imports.services import progress_path, upload_dir

log = logging.getLogger(__name__)

#: default for the config key of the same name
UPLOAD_RETENTION_DAYS = 90
#: job states whose file must stay (see the module note)
KEEP_STATES = (*job_states.ACTIVE, "done")


def retention_days() -> int:
    return int(current_app.config.get("UPLOAD_RETENTION_DAYS", UPLOAD_RETENTION_DAYS))


def purge_expired(now: datetime | None = None) -> int:
    """Delete stored files past the retention; returns how many. Reads the database only."""
    now = now or now_utc()
    cutoff = now - timedelta(days=retention_days())
    root = Path(current_app.config["UPLOAD_DIR"])
    keep: set[Path] = set()
    expired_jobs: set[Path] = set()
    for job in db.session.execute(select(
            ImportJob.id, ImportJob.stored_path, ImportJob.status, ImportJob.created_at,
            ImportJob.finished_at, ImportJob.undone_at)):
        path = (root / job.stored_path).resolve()
        last = max(t for t in (job.created_at, job.finished_at, job.undone_at) if t)
        if job.status in KEEP_STATES or last >= cutoff:
            keep.add(path)
            keep.add(progress_path(job.id).resolve())
        else:
            expired_jobs.add(path)
    deleted = 0
    for path in upload_dir().iterdir():
        path = path.resolve()
        if not path.is_file() or path in keep:
            continue
        if path not in expired_jobs:
            modified = datetime.fromtimestamp(path.stat().st_mtime, UTC)
            if modified >= cutoff:
                continue
        path.unlink(missing_ok=True)
        deleted += 1
    if deleted:
        log.info("deleted %d stored upload files older than %d days", deleted,
                 retention_days())
    return deleted
