"""Faults that must end in delivery, with a real worker process on Redis and a real SMTP sink:
an outage longer than the old retry budget (and no beat), a 5xx recipient, a slow relay."""

from __future__ import annotations

import os
import subprocess
import sys
import threading
import time
from contextlib import ExitStack
from datetime import timedelta
from pathlib import Path

import pytest
from sqlalchemy import select

import config
from bench.smtpsink import FlakyHandler, SmtpSink
from tests.conftest import require_service
from tests.reminders.test_end_to_end import REDIS_URL, _wait_for, own_session  # noqa: F401
from tests.scratch_databases import scratch_database
from tracker import create_app
from tracker.clock import today
from tracker.extensions import db

ROOT = Path(__file__).resolve().parents[2]

pytestmark = pytest.mark.slow


@pytest.fixture
def worker_stack(own_session, tmp_path):  # noqa: F811 - the fixture imported above
    """start(handler, **settings) -> (app, sink): PostgreSQL, Redis, sink and one worker."""
    require_service("Redis", REDIS_URL, 6379)
    import redis

    started = []
    databases = ExitStack()  # each its own, dropped once the workers using it have stopped

    def start(handler: FlakyHandler, concurrency: int = 1, **settings: str):
        redis.Redis.from_url(REDIS_URL).flushdb()
        url = databases.enter_context(scratch_database("reminders_faults"))
        sink = SmtpSink(handler).__enter__()

        class FaultConfig(config.Config):
            SECRET_KEY = "faults-secret"  # noqa: S105 - test only
            SQLALCHEMY_DATABASE_URI = url
            CELERY = config._celery_settings(REDIS_URL)
            SMTP_URL = sink.url
            MAIL_FROM = "tracker@faults.example"
            FAST_PASSWORD_HASHES = True

        app = create_app(FaultConfig)
        # the test's own reaper and sweeps use the worker's settings too
        app.config.update({name: int(value) for name, value in settings.items()})
        ctx = app.app_context()
        ctx.push()
        db.create_all()
        env = {**os.environ, "DATABASE_URL": url, "REDIS_URL": REDIS_URL, "SMTP_URL": sink.url,
               "MAIL_FROM": "tracker@faults.example", "SECRET_KEY": "faults-secret",
               "INSTANCE_DIR": str(tmp_path), **settings}
        log = (tmp_path / "worker.log").open("wb")
        worker = subprocess.Popen(
            [str(Path(sys.executable).with_name("celery")), "-A", "worker", "worker",
             "--loglevel", "WARNING", "--concurrency", str(concurrency), "--without-gossip",
             "--without-mingle", "--without-heartbeat"],
            cwd=ROOT, env=env, stdout=log, stderr=subprocess.STDOUT, start_new_session=True)
        started.append((worker, log, sink, ctx))
        return app, sink

    try:
        yield start
    finally:
        for worker, log, sink, ctx in started:
            os.killpg(worker.pid, 15)
            worker.wait(20)
            log.close()
            sink.__exit__(None, None, None)
            db.session.remove()
            db.engine.dispose()
            ctx.pop()
        databases.close()


def _due_reminders(addresses: list[str]) -> None:
    """One firm per address, its HNTE certificate expiring in 20 days; contacts only."""
    from sqlalchemy import update

    from tests.factories import make_enterprise, make_user
    from tests.reminders.conftest import make_qualification
    from tracker.enterprises import services as enterprises
    from tracker.reminders.defaults import seed_rules
    from tracker.reminders.models import ReminderRule

    seed_rules()
    db.session.execute(update(ReminderRule).values(enabled=False))
    db.session.execute(update(ReminderRule).where(ReminderRule.code == "hnte_expiry")
                       .values(enabled=True, recipients=["contacts"]))
    officer = make_user("bureau")
    for i, address in enumerate(addresses):
        firm = make_enterprise(name=f"天津故障测试企业{i}", officer_id=officer.id)
        enterprises.save_contact(firm, {"name": f"联系人{i}", "email": address,
                                        "receives_reminders": True})
        make_qualification(firm, valid_until=today() + timedelta(days=20),
                           number=f"GR20231200{i:04d}")
    db.session.commit()


def _rows():
    from tracker.reminders.models import Reminder

    db.session.expire_all()
    rows = db.session.scalars(select(Reminder).order_by(Reminder.id)).all()
    db.session.commit()
    return rows


def test_an_outage_longer_than_the_old_budget_ends_in_delivery_without_beat(worker_stack):
    """451 for 8 s where three attempts (the old REMINDER_MAX_ATTEMPTS here) took ~5 s; batches
    of one, so the old code left every retry to a sweep that never comes (no beat)."""
    from tracker.reminders.tasks import sweep_now

    handler = FlakyHandler(refuse=lambda address: address.startswith("bounce"))
    app, sink = worker_stack(handler, REMINDER_BACKOFF_BASE="1", REMINDER_BACKOFF_MAX="2",
                             REMINDER_MAX_ATTEMPTS="3", REMINDER_BATCH_SIZE="1")
    _due_reminders(["a@firm.example", "b@firm.example", "c@firm.example", "bounce@firm.example"])
    handler.outage_until = time.time() + 3600
    sweep_now()  # the only sweep: it inserts and fans out once
    assert _wait_for(lambda: handler.seen(), 30)
    handler.outage_until = time.time() + 8  # from the worker's first attempt on
    assert _wait_for(lambda: all(r.status in ("sent", "failed") for r in _rows()), 60), \
        [(r.to_address, r.status, r.attempts, r.last_error) for r in _rows()]
    rows = {r.to_address: r for r in _rows()}
    assert rows["bounce@firm.example"].status == "failed"  # 5xx: at once, not retried
    assert rows["bounce@firm.example"].attempts == 1
    assert "550" in rows["bounce@firm.example"].last_error
    delivered = [a.rcpt[0] for a in sink.handler.snapshot()]
    assert sorted(delivered) == ["a@firm.example", "b@firm.example", "c@firm.example"]
    assert all(rows[a].status == "sent" and rows[a].attempts > 3 for a in delivered)


def test_a_slow_relay_is_not_handed_to_a_second_worker(worker_stack):
    """Every reply takes 1 s, so a conversation lasts about 3 s; the reaper runs twice a second
    with a 1 s margin. It once reclaimed rows still being sent and a relay answering every 4 s
    received five copies of one reminder."""
    from tracker.reminders import services
    from tracker.reminders.tasks import fan_out, sweep_now

    handler = FlakyHandler(delay=1.0)
    app, sink = worker_stack(handler, concurrency=2, REMINDER_SMTP_TIMEOUT="10",
                             REMINDER_STUCK_SECONDS="1", REMINDER_BATCH_SIZE="2")
    _due_reminders(["a@slow.example", "b@slow.example", "c@slow.example"])
    sweep_now()
    stop = threading.Event()
    reaped = []

    def eager_reaper():
        with app.app_context():
            while not stop.is_set():
                count = services.reap()
                if count:
                    reaped.append(count)
                    fan_out()
                db.session.commit()
                time.sleep(0.5)

    reaper = threading.Thread(target=eager_reaper)
    reaper.start()
    try:
        assert _wait_for(lambda: all(r.status == "sent" for r in _rows()), 60), \
            [(r.to_address, r.status, r.last_error) for r in _rows()]
        time.sleep(4)  # a second copy, if any, would still be on its way
    finally:
        stop.set()
        reaper.join()
    ids = [a.message_id for a in sink.handler.snapshot()]
    assert len(ids) == len(set(ids)) == 3, ids
    assert reaped == []
