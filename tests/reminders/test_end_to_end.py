"""End to end: a real Celery worker on real Redis sends over a real SMTP server (aiosmtpd).

These tests need committed data the worker can see, so they use their own PostgreSQL database
and app instead of the rolled-back transaction.
"""

from __future__ import annotations

import os
import re
import subprocess
import sys
import time
from datetime import date, timedelta
from pathlib import Path

import pytest
from sqlalchemy import select

import config
from bench.smtpsink import FlakyHandler, SmtpSink
from tests.conftest import require_service
from tests.scratch_databases import scratch_database
from tracker import create_app
from tracker.clock import frozen, today
from tracker.extensions import db

ROOT = Path(__file__).resolve().parents[2]
REDIS_URL = os.environ.get("TEST_REMINDERS_REDIS_URL", "redis://127.0.0.1:6379/6")

pytestmark = pytest.mark.slow


@pytest.fixture
def own_session():
    """A plain scoped session (not the test's rolled-back connection) for a separate app."""
    original = db.session
    db.session = db._make_scoped_session({})
    try:
        yield
    finally:
        db.session.remove()
        db.session = original


def _wait_for(predicate, timeout: float = 60.0) -> bool:
    deadline = time.time() + timeout
    while time.time() < deadline:
        if predicate():
            return True
        time.sleep(0.2)
    return False


@pytest.fixture
def e2e_database():
    """A PostgreSQL database of this run's own (the worker must see committed rows), dropped
    after the test's worker has stopped."""
    with scratch_database("reminders_e2e") as url:
        yield url


@pytest.fixture
def stack(own_session, tmp_path, e2e_database):
    """A PostgreSQL database, Redis, an SMTP sink and a worker process, all ours."""
    require_service("Redis", REDIS_URL, 6379)
    import redis

    redis.Redis.from_url(REDIS_URL).flushdb()
    url = e2e_database
    sink = SmtpSink(FlakyHandler())

    class E2EConfig(config.Config):
        SECRET_KEY = "e2e-secret"  # noqa: S105 - test only
        SQLALCHEMY_DATABASE_URI = url
        CELERY = config._celery_settings(REDIS_URL)
        SMTP_URL = sink.url
        MAIL_FROM = "tracker@e2e.example"
        FAST_PASSWORD_HASHES = True

    app = create_app(E2EConfig)
    env = {**os.environ, "DATABASE_URL": url, "REDIS_URL": REDIS_URL, "SMTP_URL": sink.url,
           "MAIL_FROM": "tracker@e2e.example", "SECRET_KEY": "e2e-secret",
           "INSTANCE_DIR": str(tmp_path)}
    with sink, app.app_context():
        db.create_all()
        log = (tmp_path / "worker.log").open("wb")
        worker = subprocess.Popen(
            [str(Path(sys.executable).with_name("celery")), "-A", "worker", "worker",
             "--loglevel", "WARNING", "--concurrency", "1", "--without-gossip",
             "--without-mingle", "--without-heartbeat"],
            cwd=ROOT, env=env, stdout=log, stderr=subprocess.STDOUT, start_new_session=True)
        try:
            yield app, sink
        finally:
            os.killpg(worker.pid, 15)
            worker.wait(20)
            log.close()
            db.session.remove()
            db.engine.dispose()


def test_worker_sends_the_right_mail_to_the_right_people_on_the_right_dates(stack):
    from tests.factories import make_carrier, make_enterprise, make_tenancy, make_user
    from tests.reminders.conftest import make_qualification
    from tracker.enterprises import services as enterprises
    from tracker.reminders.defaults import seed_rules
    from tracker.reminders.models import Reminder
    from tracker.reminders.tasks import sweep_now

    app, sink = stack
    seed_rules()
    officer = make_user("bureau", name="王专员", email="officer@bureau.example")
    firm = make_enterprise(name="天津海河智能科技有限公司", officer_id=officer.id)
    enterprises.save_contact(firm, {"name": "张伟", "email": "zhang@firm.example",
                                    "receives_reminders": True})
    enterprises.save_contact(firm, {"name": "Anna", "email": "anna@firm.example",
                                    "receives_reminders": True, "locale": "en"})
    make_qualification(firm, valid_until=date(2026, 12, 31))
    carrier = make_carrier()
    make_user("carrier_manager", carrier_id=carrier.id, email="mgr@carrier.example")
    tenant = make_enterprise(name="天津孵化企业有限公司", officer_id=officer.id)
    make_tenancy(tenant, carrier, moved_in_on=date(2022, 10, 2))  # term ends 2026-10-02
    with frozen(date(2026, 1, 1)):
        db.session.commit()
    assert sink.handler.snapshot() == []

    def received() -> set[tuple[str, str]]:
        return {(a.rcpt[0], str(a.message()["Subject"])) for a in sink.handler.snapshot()}

    with frozen(date(2026, 7, 4)):  # 180 days before the certificate, 90 before the term
        sweep_now()
    assert _wait_for(lambda: len(sink.handler.snapshot()) == 5), received()
    first = received()
    assert {rcpt for rcpt, _ in first} == {"zhang@firm.example", "anna@firm.example",
                                           "officer@bureau.example", "mgr@carrier.example"}
    subjects = dict(first)
    assert subjects["zhang@firm.example"].startswith("【高企证书到期提醒】天津海河智能科技有限公司")
    assert subjects["anna@firm.example"].startswith("[HNTE certificate expiring]")
    assert "孵化期" in subjects["mgr@carrier.example"]

    with frozen(date(2026, 7, 5)):  # the next day: the same steps, so nothing new
        sweep_now()
    time.sleep(3)
    assert len(sink.handler.snapshot()) == 5

    with frozen(date(2026, 10, 2)):  # 90 days before the certificate; the term ends today
        sweep_now()
    assert _wait_for(lambda: len(sink.handler.snapshot()) == 10), received()
    accepted = sink.handler.snapshot()
    ids = [a.message_id for a in accepted]
    assert len(ids) == len(set(ids)) == 10

    def recorded() -> list[Reminder]:
        db.session.rollback()  # a fresh read each time: the worker commits after the sink accepts
        return db.session.scalars(select(Reminder)).all()

    # the server accepts a message before the worker records it (and the commit recounts the
    # firm's ledger marks for the dashboard): the last one may still read 'sending' for a moment
    assert _wait_for(lambda: {r.status for r in recorded()} == {"sent"}, timeout=30)
    rows = recorded()
    assert len(rows) == 10
    assert {r.occurrence_tag for r in rows} == {"d180", "d90", "d30"}
    assert all(re.fullmatch(r"<reminder-\d+\.\d+\.\d{8}@e2e\.example>", i) for i in ids)


def test_a_save_with_redis_down_answers_fast_and_waits_in_the_db(own_session, tmp_path):
    """Redis refusing connections: the request records the reminder and returns at once."""
    from bench.smtpsink import free_port
    from tests.conftest import csrf_from, login
    from tests.factories import make_enterprise, make_user
    from tests.reminders.conftest import make_qualification
    from tracker.reminders.defaults import seed_rules
    from tracker.reminders.models import Reminder

    dead = f"redis://127.0.0.1:{free_port()}/0"

    class DownConfig(config.TestConfig):
        SQLALCHEMY_DATABASE_URI = f"sqlite:///{tmp_path / 'down.db'}"
        CELERY = config._celery_settings(dead)

    app = create_app(DownConfig)
    with app.app_context():
        db.create_all()
        seed_rules()
        user = make_user("bureau")
        firm = make_enterprise(officer_id=user.id)
        make_qualification(firm, valid_until=today() + timedelta(days=20))
        db.session.commit()
        client = app.test_client()
        login(client, user)
        token = re.search(r'name="contact-csrf_token"[^>]*value="([^"]+)"',
                          client.get(f"/enterprises/{firm.id}").get_data(as_text=True)).group(1)
        assert csrf_from(client.get("/reminders/").get_data(as_text=True))
        started = time.perf_counter()
        response = client.post(f"/enterprises/{firm.id}/contacts", data={
            "contact-csrf_token": token, "contact-name": "赵敏",
            "contact-email": "zhao@firm.example", "contact-receives_reminders": "y",
            "contact-locale": "zh_CN"})
        elapsed = time.perf_counter() - started
        assert response.status_code == 302
        assert elapsed < 2.0
        rows = db.session.scalars(select(Reminder)).all()
        assert {(r.to_address, r.status) for r in rows} >= {("zhao@firm.example", "pending")}
        db.session.remove()
        db.engine.dispose()
