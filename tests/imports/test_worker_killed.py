"""End to end on the embedded default: a worker SIGKILLed mid-import on the SQLite broker.

kombu's SQLAlchemy transport hides a fetched message until it is acked; a killed worker never
acks, so the message stays invisible for ever and the job stays `running`. The reaper, reading
the jobs table rather than the broker, sends the job again and a new worker finishes it.
"""

from __future__ import annotations

import json
import os
import signal
import sqlite3
import subprocess
import sys
import time
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[2]
ROWS = 2501

SETUP = r"""
from openpyxl import Workbook
from tests.factories import valid_uscc
from tracker import create_app, jobs
from tracker.extensions import db
from tracker.imports import services

app = create_app()
with app.app_context():
    db.create_all()
    wb = Workbook(); ws = wb.active
    ws.append(["统一社会信用代码", "企业名称", "所属区域", "从业人数"])
    for i in range(1, ROWS + 1):
        ws.append([valid_uscc(60000 + i), f"被杀导入公司{i}", "高新区", i])
    wb.save(services.upload_dir() / "killed.xlsx")
    job = services.create_job("enterprises", "imports/killed.xlsx", "killed.xlsx", user_id=None)
    job.options = {**job.options, "mode": "run"}
    jobs.queue(job)
    db.session.commit()
    print(job.id)
""".replace("ROWS", str(ROWS))

REAP = r"""
from tracker import create_app
from tracker.jobs import reap

app = create_app()
with app.app_context():
    print(reap.run())
"""


def _worker(env: dict, log: Path) -> subprocess.Popen:
    return subprocess.Popen(
        [sys.executable, "-m", "celery", "-A", "worker", "worker", "--pool=solo",
         "--loglevel=WARNING", "--without-heartbeat", "--without-gossip", "--without-mingle"],
        cwd=ROOT, env=env, stdout=log.open("ab"), stderr=subprocess.STDOUT)


def _job(database: Path, job_id: int) -> tuple:
    with sqlite3.connect(database) as conn:
        return conn.execute("SELECT status, attempts, created, rows FROM import_jobs "
                            "WHERE id = ?", (job_id,)).fetchone()


def _wait(predicate, timeout: float) -> bool:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if predicate():
            return True
        time.sleep(0.2)
    return False


@pytest.mark.slow
def test_a_killed_worker_on_the_sqlite_broker_loses_no_import(tmp_path):
    database = tmp_path / "tracker.db"
    uploads = tmp_path / "uploads"
    env = {**os.environ, "DATABASE_URL": f"sqlite:///{database}", "INSTANCE_DIR": str(tmp_path),
           "UPLOAD_DIR": str(uploads), "JOB_STUCK_SECONDS": "3", "PYTHONPATH": str(ROOT)}
    env.pop("REDIS_URL", None)  # the embedded broker: kombu on a SQLite file
    setup = subprocess.run([sys.executable, "-c", SETUP], cwd=ROOT, env=env,
                           capture_output=True, text=True, timeout=180)
    assert setup.returncode == 0, setup.stderr[-2000:]
    job_id = int(setup.stdout.strip().splitlines()[-1])
    progress = uploads / "imports" / f"job-{job_id}.progress.json"
    log = tmp_path / "worker.log"

    first = _worker(env, log)
    try:
        def under_way() -> bool:
            try:
                return json.loads(progress.read_text())["done"] > 0
            except (OSError, ValueError, KeyError):
                return False

        assert _wait(under_way, 120), log.read_text()[-2000:]
        os.kill(first.pid, signal.SIGKILL)
    finally:
        first.wait(timeout=30)
    assert _job(database, job_id)[:2] == ("running", 1)
    with sqlite3.connect(tmp_path / "celery-broker.db") as broker:
        hidden = broker.execute("SELECT count(*) FROM kombu_message WHERE visible = 0"
                                ).fetchone()[0]
    assert hidden == 1  # the broker will never hand that message out again

    second = _worker(env, log)
    try:
        time.sleep(4)  # past JOB_STUCK_SECONDS since the last progress the dead worker wrote
        reaped = subprocess.run([sys.executable, "-c", REAP], cwd=ROOT, env=env,
                                capture_output=True, text=True, timeout=60)
        assert reaped.returncode == 0, reaped.stderr[-2000:]
        assert "'requeued': 1" in reaped.stdout
        assert _wait(lambda: _job(database, job_id)[0] in ("done", "failed"), 180), \
            log.read_text()[-2000:]
    finally:
        second.terminate()
        second.wait(timeout=30)
    assert _job(database, job_id) == ("done", 2, ROWS, ROWS)
    with sqlite3.connect(database) as conn:
        assert conn.execute("SELECT count(*) FROM enterprises").fetchone()[0] == ROWS
