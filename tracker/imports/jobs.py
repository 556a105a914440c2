"""Starting an import job: run it here or hand it to the worker. One policy for page and CLI.

A request must not hold a long import, so a file larger than IMPORT_SYNC_ROWS is queued and the
job page shows its progress; a caller that waits for the counts (a shell) runs it here. The
size is only an estimate (a workbook without `<dimension>`, or one that lies), so a run here
reads at most IMPORT_SYNC_ROWS rows and hands the job to the worker when the file goes on.
"""

from __future__ import annotations

from typing import Any

from flask import current_app

from tracker import jobs as job_states
from tracker.extensions import db
from tracker.imports import services
from tracker.imports.models import ImportJob
from tracker.imports.reader import RowBudgetExceeded, row_budget

#: rough size of one zipped spreadsheet row, to size files whose row count is unknown
BYTES_PER_ROW_GUESS = 40


def estimated_rows(job: ImportJob) -> int:
    """Rows by the workbook's own count, else guessed from the stored file's size."""
    estimated = (job.options or {}).get("estimated_rows") or 0
    if not estimated:
        path = services.stored_file(job)
        estimated = path.stat().st_size // BYTES_PER_ROW_GUESS if path.exists() else 0
    return estimated


def start(job: ImportJob, *, dry_run: bool, user: Any = None, wait: bool = False) -> ImportJob:
    """Preview (dry_run) or run the job now when small or when the caller waits, else queue it.

    Flushes; the caller commits once, and a queued task is published only after that commit.
    """
    sync_rows = current_app.config["IMPORT_SYNC_ROWS"]
    if wait:
        job_id = job.id
        db.session.flush()  # the engine empties the session: the chosen options must be written
        return services.run_job(job_id, dry_run=dry_run, user=user)
    if estimated_rows(job) <= sync_rows:
        job_id = job.id
        db.session.flush()
        try:
            with row_budget(sync_rows):
                return services.run_job(job_id, dry_run=dry_run, user=user)
        except RowBudgetExceeded:  # the engine rolled its savepoint back: nothing was written
            job = db.session.get(ImportJob, job_id)
    job.options = {**job.options, "mode": "dry_run" if dry_run else "run"}
    job_states.queue(job)  # queued -> running -> done | failed, with retry and the reaper
    return job
