"""Running a file through a real import job, as the web flow and CLI do."""

from __future__ import annotations

import shutil
from pathlib import Path

from flask import current_app

from tracker.imports import services


def run_file(path: Path, kind: str, *, user=None, dry_run: bool = False,
             keep_valid: bool = False, year: int | None = None,
             qualification_kind: str | None = None, mapping: dict | None = None,
             official_list: bool = False, accept_warnings: bool = False):
    """Store the file, make a job and run it; returns the job (flushed, not committed)."""
    target = Path(current_app.config["UPLOAD_DIR"]) / "imports"
    target.mkdir(parents=True, exist_ok=True)
    stored = target / f"{path.stem}-{len(list(target.iterdir()))}{path.suffix}"
    shutil.copyfile(path, stored)
    job = services.create_job(kind, f"imports/{stored.name}", path.name,
                              user_id=user.id if user else None)
    options = dict(job.options, keep_valid=keep_valid, qualification_kind=qualification_kind,
                   official_list=official_list, accept_warnings=accept_warnings)
    if year:
        options["year"] = year
    if mapping is not None:
        options["mapping"] = mapping
    job.options = options
    return services.run_job(job.id, dry_run=dry_run, user=user)
