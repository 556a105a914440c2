"""Import jobs as a visible state machine: the reaper, a broker that was down, retry and cancel.

The jobs table is the truth: a job left `running` by a killed worker, or `queued` because the
broker could not take the message, comes back on its own, and a person can retry or cancel it.
"""

from __future__ import annotations

import json
import os
from contextlib import contextmanager
from datetime import timedelta
from pathlib import Path

import pytest
from flask import current_app
from sqlalchemy import select

from tests.conftest import csrf_from, login, require_service
from tests.factories import make_user, valid_uscc
from tests.imports.conftest import ENTERPRISE_HEADERS
from tracker import jobs
from tracker.audit.models import AuditEvent
from tracker.clock import frozen, now_utc
from tracker.extensions import db
from tracker.imports import services
from tracker.imports.models import ImportJob
from tracker.imports.tasks import run_import_job

REDIS_URL = os.environ.get("TEST_IMPORTS_REDIS_URL", "redis://127.0.0.1:6379/9")
#: nothing listens here: publishing fails at once, as with Redis stopped
DEAD_BROKER = "redis://127.0.0.1:1/0"


def _queued_job(write_xlsx, n: int = 3, user=None) -> ImportJob:
    rows = [ENTERPRISE_HEADERS] + [
        [f"天津排队公司{i}", valid_uscc(83000 + i), "2020-01-02", "高新区", "新材料", None, None,
         i, "1.5"] for i in range(1, n + 1)]
    path = write_xlsx(rows)
    target = Path(current_app.config["UPLOAD_DIR"]) / "imports"
    target.mkdir(parents=True, exist_ok=True)
    (target / "queued.xlsx").write_bytes(path.read_bytes())
    job = services.create_job("enterprises", "imports/queued.xlsx", "queued.xlsx",
                              user_id=user.id if user else None)
    job.options = {**job.options, "mode": "run"}
    jobs.queue(job)
    db.session.commit()
    return job


def _later(seconds: int = 0):
    return frozen(now_utc() + timedelta(seconds=jobs.stuck_seconds() + 1 + seconds))


def _audit(job: ImportJob) -> list[str]:
    return list(db.session.scalars(select(AuditEvent.action).where(
        AuditEvent.entity_type == "import", AuditEvent.entity_id == job.id)
        .order_by(AuditEvent.id)))


def test_a_job_whose_worker_died_is_requeued_and_finishes(write_xlsx):
    job = _queued_job(write_xlsx)
    assert jobs.claim(ImportJob, job.id)  # a worker took it ... and was killed
    db.session.expire_all()
    assert job.status == "running"
    assert jobs.reap_once() == {"requeued": 0, "failed": 0}  # not stuck yet

    with _later():
        assert jobs.reap_once() == {"requeued": 1, "failed": 0}
        db.session.commit()
    db.session.expire_all()
    assert (job.status, job.attempts, job.worker_token) == ("queued", 2, None)
    assert "自动重新排队" in job.message
    assert run_import_job(job.id) == "done"
    assert run_import_job(job.id) == "skipped"  # the dead worker's message, if it ever returns
    db.session.expire_all()
    assert (job.status, job.created, job.message) == ("done", 3, None)
    assert _audit(job) == ["requeue"]


def test_a_running_job_that_still_reports_progress_is_left_alone(write_xlsx):
    job = _queued_job(write_xlsx)
    jobs.claim(ImportJob, job.id)
    with _later():
        services.write_progress(job.id, 1, 3)  # the file the engine writes every chunk
        os.utime(services.progress_path(job.id), (now_utc().timestamp(),) * 2)
        assert jobs.reap_once() == {"requeued": 0, "failed": 0}
    services.progress_path(job.id).unlink()


def test_after_the_last_attempt_the_job_fails_with_the_reason(client, write_xlsx):
    user = make_user("bureau")
    job = _queued_job(write_xlsx, user=user)
    for attempt in range(2, jobs.max_attempts() + 1):
        with _later(attempt * jobs.stuck_seconds()):
            assert jobs.reap_once()["requeued"] == 1
            db.session.commit()
    with _later(10 * jobs.stuck_seconds()):
        assert jobs.reap_once() == {"requeued": 0, "failed": 1}
        db.session.commit()
    db.session.expire_all()
    assert job.status == "failed" and job.attempts == jobs.max_attempts()
    assert "不再自动重试" in job.message
    login(client, user)
    html = client.get(f"/imports/{job.id}").get_data(as_text=True)
    assert "不再自动重试" in html and f"/imports/{job.id}/retry" in html


@contextmanager
def _broker(url: str):
    """Point the app's Celery at another broker for the block (and back)."""
    celery = current_app.extensions["celery"]
    saved = celery.conf.broker_url, celery.conf.broker_transport_options

    def reset() -> None:  # kombu keeps its pools per broker URL; forget ours
        celery._pool = None
        celery.amqp._producer_pool = None

    reset()
    celery.conf.broker_url = url
    celery.conf.broker_transport_options = {"socket_connect_timeout": 1, "socket_timeout": 1,
                                            "max_retries": 0}
    try:
        yield celery
    finally:
        reset()
        celery.conf.broker_url, celery.conf.broker_transport_options = saved


@pytest.mark.redis
def test_a_job_queued_while_redis_was_down_is_sent_by_the_reaper(write_xlsx):
    url = require_service("Redis", REDIS_URL, 6379)
    import redis

    server = redis.Redis.from_url(url)
    server.flushdb()
    with _broker(DEAD_BROKER):
        job = _queued_job(write_xlsx)  # the commit succeeds; the publish fails and is logged
    db.session.expire_all()
    assert (job.status, job.attempts) == ("queued", 1)

    with _broker(url):
        with _later():
            assert jobs.reap_once()["requeued"] == 1
            db.session.commit()  # the message leaves only now
        messages = server.lrange("celery", 0, -1)
    assert len(messages) == 1
    headers = json.loads(messages[0])["headers"]
    assert headers["task"] == "imports.run_job" and str(job.id) in headers["argsrepr"]
    assert run_import_job(job.id) == "done"  # what the worker does with that message
    server.flushdb()


def _post(client, url: str, page: str, **data):
    token = csrf_from(client.get(page).get_data(as_text=True))
    return client.post(url, data={"csrf_token": token, **data})


def test_retry_and_cancel_from_the_job_page(client, write_xlsx):
    user = make_user("zone")
    job = _queued_job(write_xlsx, user=user)
    page = f"/imports/{job.id}"
    login(client, user)
    html = client.get(page).get_data(as_text=True)
    assert "排队中" in html and f"/imports/{job.id}/cancel" in html

    assert client.post(f"/imports/{job.id}/cancel").status_code == 400  # no CSRF token
    response = _post(client, f"/imports/{job.id}/cancel", page)
    assert response.status_code == 302
    db.session.expire_all()
    assert job.status == "cancelled"
    assert run_import_job(job.id) == "skipped"  # its message arrives after the cancel

    html = client.get(page).get_data(as_text=True)
    assert "已取消" in html and f"/imports/{job.id}/retry" in html
    assert _post(client, f"/imports/{job.id}/retry", page).status_code == 302
    db.session.expire_all()
    assert (job.status, job.attempts) == ("queued", 1)
    assert _audit(job) == ["cancel", "retry"]
    assert run_import_job(job.id) == "done"
    db.session.expire_all()
    response = _post(client, f"/imports/{job.id}/retry", page)  # done: nothing to retry
    assert response.status_code == 302
    assert job.status == "done"


def test_retry_and_cancel_are_scoped_to_who_may_see_the_job(app, client, write_xlsx):
    owner = make_user("zone")
    job = _queued_job(write_xlsx, user=owner)
    login(client, make_user("zone"))  # another zone's officer: not their job
    for action in ("cancel", "retry"):
        assert _post(client, f"/imports/{job.id}/{action}", "/imports/").status_code == 404
    viewer = app.test_client()
    login(viewer, make_user("viewer"))
    assert viewer.get(f"/imports/{job.id}").status_code == 403
    db.session.expire_all()
    assert job.status == "queued"


def test_cancelling_a_running_job_discards_what_the_worker_then_writes(write_xlsx):
    job = _queued_job(write_xlsx)

    def work(job_id: int) -> str:
        jobs.cancel(db.session.get(ImportJob, job_id), actor_id=None)  # as if from the page
        db.session.commit()
        return services.run_job(job_id, dry_run=False).status

    assert jobs.execute(ImportJob, job.id, work) == "superseded"
    db.session.expire_all()
    assert job.status == "cancelled" and job.created == 0


def test_the_reaper_runs_on_beat(app):
    schedule = app.extensions["celery"].conf.beat_schedule
    assert schedule["jobs-reap"]["task"] == "tracker.jobs.reap"
    assert schedule["jobs-reap"]["options"]["expires"] < 60
    assert "tracker.jobs.reap" in app.extensions["celery"].tasks
