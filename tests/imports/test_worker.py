"""End to end: a large import queued by the page runs on a real Celery worker over Redis."""

from __future__ import annotations

import os
import sqlite3
import subprocess
import sys
import time
from pathlib import Path

import pytest

from tests.conftest import require_service

ROOT = Path(__file__).resolve().parents[2]
REDIS_URL = os.environ.get("TEST_IMPORTS_REDIS_URL", "redis://127.0.0.1:6379/9")

#: run in a child process so it uses its own database, not the test's rolled-back connection
SETUP = r"""
from openpyxl import Workbook
from tests.factories import valid_uscc
from tracker import create_app
from tracker.celery_app import enqueue_after_commit
from tracker.extensions import db
from tracker.imports import services
from tracker.imports.tasks import run_import_job

app = create_app()
with app.app_context():
    db.create_all()
    wb = Workbook(); ws = wb.active
    ws.append(["统一社会信用代码", "企业名称", "所属区域", "从业人数"])
    for i in range(1, 1201):
        ws.append([valid_uscc(70000 + i), f"队列导入公司{i}", "高新区", i])
    path = services.upload_dir() / "e2e.xlsx"
    wb.save(path)
    job = services.create_job("enterprises", "imports/e2e.xlsx", "e2e.xlsx", user_id=None)
    job.options = {**job.options, "mode": "run"}
    job.status = "queued"
    enqueue_after_commit(run_import_job, job.id)
    db.session.commit()
    print(job.id)
"""


@pytest.mark.slow
@pytest.mark.redis
def test_queued_import_runs_on_a_real_worker(tmp_path):
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
        deadline = time.monotonic() + 120
        status = None
        while time.monotonic() < deadline:
            with sqlite3.connect(database) as conn:
                row = conn.execute("SELECT status, created, rows FROM import_jobs WHERE id = ?",
                                   (job_id,)).fetchone()
            status = row[0]
            if status in ("done", "failed", "rejected"):
                break
            time.sleep(0.5)
        assert row == ("done", 1200, 1200)
        with sqlite3.connect(database) as conn:
            assert conn.execute("SELECT count(*) FROM enterprises").fetchone()[0] == 1200
    finally:
        worker.terminate()
        worker.wait(timeout=30)
