"""Stored uploads go after UPLOAD_RETENTION_DAYS, except files a job still needs."""

import os
from datetime import timedelta

import pytest

from tracker.clock import now_utc
from tracker.extensions import db
from tracker.imports.models import ImportJob
from tracker.imports.retention import purge_expired
from tracker.imports.tasks import purge_uploads


def _file(folder, name: str, days_old: int = 0):
    path = folder / "imports" / name
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_bytes(b"x")
    stamp = (now_utc() - timedelta(days=days_old)).timestamp()
    os.utime(path, (stamp, stamp))
    return path


def _job(folder, name: str, status: str, days_old: int) -> ImportJob:
    _file(folder, name)  # written today: the job's own dates decide
    when = now_utc() - timedelta(days=days_old)
    job = ImportJob(kind="enterprises", filename=name, stored_path=f"imports/{name}",
                    status=status, created_at=when,
                    finished_at=None if status in ("queued", "running", "uploaded") else when)
    db.session.add(job)
    db.session.flush()
    return job


@pytest.mark.parametrize("days", [90, 30])
def test_files_past_the_retention_are_deleted_and_needed_ones_kept(app, upload_dir,
                                                                   monkeypatch, days):
    monkeypatch.setitem(app.config, "UPLOAD_RETENTION_DAYS", days)
    old, young = days + 1, days - 1
    expected_gone = {
        "previewed-old.xlsx": _job(upload_dir, "previewed-old.xlsx", "previewed", old),
        "failed-old.csv": _job(upload_dir, "failed-old.csv", "failed", old),
        "undone-old.xlsx": _job(upload_dir, "undone-old.xlsx", "undone", old),
        "reconcile-old.xlsx": _file(upload_dir, "reconcile-old.xlsx", old),
        "reconcile-old.xlsx.hnte.json": _file(upload_dir, "reconcile-old.xlsx.hnte.json", old),
    }
    expected_kept = {
        "queued-old.xlsx": _job(upload_dir, "queued-old.xlsx", "queued", old),
        "running-old.xlsx": _job(upload_dir, "running-old.xlsx", "running", old),
        "done-old.xlsx": _job(upload_dir, "done-old.xlsx", "done", old),  # undo possible
        "previewed-young.xlsx": _job(upload_dir, "previewed-young.xlsx", "previewed", young),
        "reconcile-young.xlsx": _file(upload_dir, "reconcile-young.xlsx", young),
    }
    running = expected_kept["running-old.xlsx"]
    _file(upload_dir, f"job-{running.id}.progress.json", old)
    assert purge_expired() == len(expected_gone)
    left = {p.name for p in (upload_dir / "imports").iterdir()}
    assert left == {*expected_kept, f"job-{running.id}.progress.json"}


def test_the_beat_runs_the_purge_daily(app, upload_dir):
    schedule = app.extensions["celery"].conf.beat_schedule["imports-purge-uploads"]
    assert schedule["task"] == purge_uploads.name == "imports.purge_uploads"
    assert schedule["options"]["expires"] > 0
    _file(upload_dir, "stale.csv", 400)
    assert purge_uploads() == 1
