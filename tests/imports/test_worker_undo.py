"""End to end: a large import's undo is queued by the service and run by a real worker."""

from __future__ import annotations

import os
import sqlite3
import subprocess
import sys
import time

import pytest

from tests.conftest import require_service
from tests.imports.test_worker import REDIS_URL, ROOT, SETUP

#: queue the undo as the page does (more changes than IMPORT_SYNC_UNDO: the worker runs it)
UNDO = r"""
import sys
from tracker import create_app
from tracker.extensions import db
from tracker.imports import services
from tracker.imports.models import ImportJob

app = create_app()
with app.app_context():
    job = db.session.get(ImportJob, int(sys.argv[1]))
    assert services.request_undo(job, user_id=None) is None, "expected the undo to be queued"
    db.session.commit()
"""


def _wait_for(database, job_id: int, statuses: tuple[str, ...]) -> str | None:
    deadline = time.monotonic() + 120
    status = None
    while time.monotonic() < deadline:
        with sqlite3.connect(database) as conn:
            status = conn.execute("SELECT status FROM import_jobs WHERE id = ?",
                                  (job_id,)).fetchone()[0]
        if status in statuses:
            break
        time.sleep(0.5)
    return status


def _wait_for_recompute(database, timeout: float = 180) -> None:
    """Until the import's eligibility recompute (handed to the worker) has cleared its marks."""
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        with sqlite3.connect(database, timeout=30) as conn:
            stale = conn.execute("SELECT count(*) FROM enterprises "
                                 "WHERE eligibility_stale_since IS NOT NULL").fetchone()[0]
        if not stale:
            return
        time.sleep(0.5)


@pytest.mark.slow
@pytest.mark.redis
def test_large_undo_runs_on_a_real_worker(tmp_path):
    url = require_service("Redis", REDIS_URL, 6379)
    import redis

    redis.Redis.from_url(url).flushdb()
    database = tmp_path / "e2e.db"
    env = {**os.environ, "DATABASE_URL": f"sqlite:///{database}", "REDIS_URL": url,
           "INSTANCE_DIR": str(tmp_path), "UPLOAD_DIR": str(tmp_path / "uploads"),
           "PYTHONPATH": str(ROOT)}
    setup = subprocess.run([sys.executable, "-c", SETUP], cwd=ROOT, env=env,
                           capture_output=True, text=True, timeout=120)
    assert setup.returncode == 0, setup.stderr[-2000:]
    job_id = int(setup.stdout.strip().splitlines()[-1])
    worker = subprocess.Popen(
        [sys.executable, "-m", "celery", "-A", "worker", "worker", "--pool=solo",
         "--loglevel=WARNING", "--without-heartbeat", "--without-gossip", "--without-mingle"],
        cwd=ROOT, env=env, stdout=subprocess.DEVNULL, stderr=subprocess.PIPE, text=True)
    try:
        assert _wait_for(database, job_id, ("done", "failed", "rejected")) == "done"
        _wait_for_recompute(database)  # the worker's follow-up writes hold SQLite's one writer
        undo = subprocess.run([sys.executable, "-c", UNDO, str(job_id)], cwd=ROOT, env=env,
                              capture_output=True, text=True, timeout=120)
        assert undo.returncode == 0, undo.stderr[-2000:]
        assert _wait_for(database, job_id, ("undone",)) == "undone"
        with sqlite3.connect(database) as conn:
            assert conn.execute("SELECT count(*) FROM enterprises").fetchone()[0] == 0
    finally:
        worker.terminate()
        worker.wait(timeout=30)
