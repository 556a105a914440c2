"""Starting an import is one service call: small jobs run now, large ones go to the worker."""

from __future__ import annotations

import shutil
from pathlib import Path

from flask import current_app

from tests.factories import make_user, valid_uscc
from tracker.celery_app import _PENDING_KEY
from tracker.extensions import db
from tracker.imports import jobs, services
from tracker.imports.models import ImportJob


def _job(path: Path, user=None) -> ImportJob:
    """A job for the file with its automatic column mapping, as the upload page makes it."""
    target = Path(current_app.config["UPLOAD_DIR"]) / "imports"
    target.mkdir(parents=True, exist_ok=True)
    shutil.copyfile(path, target / path.name)
    return services.create_job("enterprises", f"imports/{path.name}", path.name,
                               user_id=user.id if user else None)


def _sheet(write_xlsx, n: int) -> Path:
    return write_xlsx([["企业名称", "统一社会信用代码", "所属区域", "从业人数"]]
                      + [[f"任务导入公司{i}", valid_uscc(96000 + i), "高新区", i]
                         for i in range(1, n + 1)])


def _queued() -> list[tuple[str, tuple]]:
    return [(task.name, args) for task, args, _kw in db.session().info.get(_PENDING_KEY, [])]


def test_a_small_job_runs_now(app, write_xlsx):
    bureau = make_user("bureau")
    job = _job(_sheet(write_xlsx, 3), bureau)
    done = jobs.start(job, dry_run=True, user=bureau)
    assert (done.status, done.rows, done.created) == ("previewed", 3, 3)
    assert _queued() == []


def test_a_large_job_is_queued_for_the_worker(app, write_xlsx, monkeypatch):
    monkeypatch.setitem(app.config, "IMPORT_SYNC_ROWS", 2)
    job = _job(_sheet(write_xlsx, 3))
    queued = jobs.start(job, dry_run=False)
    assert (queued.status, queued.options["mode"], queued.rows) == ("queued", "run", 0)
    assert _queued() == [("imports.run_job", (job.id,))]  # leaves only after the commit


def test_a_caller_that_waits_runs_even_a_large_job_now(app, write_xlsx, monkeypatch):
    """The CLI: a person at a terminal waits for the counts instead of a progress page."""
    monkeypatch.setitem(app.config, "IMPORT_SYNC_ROWS", 2)
    job = _job(_sheet(write_xlsx, 3))
    done = jobs.start(job, dry_run=False, wait=True)
    assert (done.status, done.created) == ("done", 3)
    assert _queued() == []


def test_the_size_comes_from_the_workbook_or_else_from_the_file(app, write_xlsx):
    job = _job(_sheet(write_xlsx, 3))
    assert jobs.estimated_rows(job) == 3
    job.options = {**job.options, "estimated_rows": 0}  # a workbook without <dimension>
    size = services.stored_file(job).stat().st_size
    assert jobs.estimated_rows(job) == size // jobs.BYTES_PER_ROW_GUESS
