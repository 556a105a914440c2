"""End to end: a save's webhook goes out from a real Celery worker over Redis, retried once."""

from __future__ import annotations

import os
import sqlite3
import subprocess
import sys
import time
from pathlib import Path

import pytest

from tests.conftest import require_service
from tests.webhooks.conftest import SECRET, Reply

ROOT = Path(__file__).resolve().parents[2]
REDIS_URL = os.environ.get("TEST_WEBHOOKS_REDIS_URL",
                           os.environ.get("TEST_REDIS_URL", "redis://127.0.0.1:6379/15"))

#: run in a child process so it uses its own database, not the test's rolled-back connection
SETUP = r"""
import sys
from datetime import date
from tests.factories import make_enterprise
from tracker import create_app
from tracker.extensions import db
from tracker.ladder import services as ladder
from tracker.webhooks import services

app = create_app()
with app.app_context():
    db.create_all()
    services.create_endpoint({"url": sys.argv[1], "secret": sys.argv[2],
                              "events": ["qualification.granted"]})
    db.session.commit()
    firm = make_enterprise(name="天津队列投递科技有限公司")
    db.session.commit()
    ladder.grant_qualification(firm, "hnte", "GR202512000999", date(2025, 12, 1))
    db.session.commit()  # the pipeline records the event; the commit publishes the task
"""


@pytest.mark.slow
@pytest.mark.redis
@pytest.mark.live
def test_a_grant_is_delivered_by_a_real_worker_after_one_retry(tmp_path, receiver):
    url = require_service("Redis", REDIS_URL, 6379)
    import redis

    redis.Redis.from_url(url).flushdb()
    receiver.replies = [Reply(status=500, body=b"busy"), Reply(status=200)]
    database = tmp_path / "e2e.db"
    env = {**os.environ, "DATABASE_URL": f"sqlite:///{database}", "REDIS_URL": url,
           "INSTANCE_DIR": str(tmp_path), "PYTHONPATH": str(ROOT),
           "WEBHOOK_BACKOFF_BASE": "1", "WEBHOOK_TIMEOUT": "5"}
    worker = subprocess.Popen(
        [sys.executable, "-m", "celery", "-A", "worker", "worker", "--pool=solo",
         "--loglevel=WARNING", "--without-heartbeat", "--without-gossip", "--without-mingle"],
        cwd=ROOT, env=env, stdout=subprocess.DEVNULL, stderr=subprocess.PIPE, text=True)
    try:
        setup = subprocess.run([sys.executable, "-c", SETUP, receiver.url, SECRET], cwd=ROOT,
                               env=env, capture_output=True, text=True, timeout=120)
        assert setup.returncode == 0, setup.stderr[-2000:]
        deadline = time.monotonic() + 90
        row = None
        while time.monotonic() < deadline:
            with sqlite3.connect(database) as conn:
                row = conn.execute("SELECT status, attempts, response_code "
                                   "FROM webhook_deliveries").fetchone()
            if row and row[0] in ("delivered", "failed", "expired"):
                break
            time.sleep(0.3)
        assert row == ("delivered", 2, 200)
        time.sleep(1.5)  # nothing more arrives: no second copy from a duplicate task
        assert [r.status for r in receiver.requests] == [500, 200]
        assert all(r.signature_ok for r in receiver.requests)
        assert len(receiver.accepted) == 1
        assert receiver.accepted[0].json["data"]["enterprise"]["name"] == "天津队列投递科技有限公司"
    finally:
        worker.terminate()
        worker.wait(timeout=30)
