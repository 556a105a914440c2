"""Tasks that wait on the network (mail, webhooks) or read at length (the integrity check) on
the embedded default: a real SQLite file shared with another connection.

They begin their transactions as readers (`begins_as_writer=False`), so that no write lock is
held while they wait. Then no transaction of theirs may read and later write: in WAL mode a
read snapshot that another connection's commit has made stale cannot become a write
transaction, and the write fails at once with "database is locked" (the busy timeout does not
apply). The pattern was an ORM object read (or reloaded after a commit expired it) before the
network call, and the outcome's UPDATE after it, in the same transaction: a reminder mailed but
left `sending` until the reaper handed it to another worker, which mailed it again.

Each test lets the other connection commit at the worst moment (during the network call, or
right after the task's first read), so the interleaving is decided, not timed.
"""

from __future__ import annotations

import sqlite3
from collections.abc import Iterator
from contextlib import contextmanager
from datetime import date
from pathlib import Path

import pytest
from sqlalchemy import select

from tests.factories import make_enterprise, make_user
from tests.scratch_databases import (
    other_commit,
    other_commits_after_first_read,
    sqlite_file_app,
)
from tracker.clock import frozen
from tracker.extensions import db

pytestmark = pytest.mark.live

DAY = date(2026, 12, 1)


@pytest.fixture
def file_app(app, tmp_path):
    """An app on its own SQLite file (WAL), mail to a folder, no retries to hide a failure."""
    with sqlite_file_app(tmp_path, MAIL_DIR=str(tmp_path / "mail"), SMTP_URL=None,
                         SQLITE_BUSY_TIMEOUT_MS=2_000, TASK_RETRY_ATTEMPTS=1) as application, \
            application.app_context():
        yield application


@pytest.fixture
def other(file_app):
    """Another process's connection to the same file (the web, another worker); no busy
    timeout, so a write it cannot make now fails at once instead of waiting."""
    connection = sqlite3.connect(Path(db.engine.url.database), isolation_level=None,
                                 timeout=0, check_same_thread=False)
    connection.execute("CREATE TABLE other_writer (x INTEGER)")
    yield connection
    connection.close()


@contextmanager
def commits_during(monkeypatch, module, name: str,
                   other: sqlite3.Connection) -> Iterator[list[str]]:
    """The other connection commits while `module.name` (the network call) runs: no lock
    may be held then."""
    real = getattr(module, name)
    calls: list[str] = []

    def during(*args, **kwargs):
        assert other_commit(other) == "committed"
        calls.append(name)
        return real(*args, **kwargs)

    monkeypatch.setattr(module, name, during)
    yield calls


def _due_reminders() -> list[int]:
    from tracker.enterprises import services as enterprises
    from tracker.ladder.models import Qualification
    from tracker.reminders.defaults import seed_rules
    from tracker.reminders.models import Reminder
    from tracker.reminders.sweep import run_sweep

    seed_rules()
    officer = make_user("bureau", name="王专员")
    firm = make_enterprise(name="天津海河邮件科技有限公司", officer_id=officer.id)
    enterprises.save_contact(firm, {"name": "张伟", "email": "zhang@firm.example",
                                    "receives_reminders": True})
    db.session.add(Qualification(enterprise_id=firm.id, kind="hnte",
                                 granted_on=date(2023, 12, 31), valid_until=date(2026, 12, 31),
                                 number="GR202312000001"))
    db.session.commit()
    with frozen(DAY):
        run_sweep(DAY)
        db.session.commit()
    ids = list(db.session.scalars(select(Reminder.id).order_by(Reminder.id)))
    db.session.rollback()  # no read of ours stays open (its snapshot would hide the task's)
    assert ids
    return ids


def _statuses(model, ids) -> list[str]:
    db.session.rollback()  # a fresh snapshot: the task committed in a session of its own
    statuses = list(db.session.scalars(select(model.status).where(model.id.in_(ids))))
    db.session.rollback()
    return statuses


def test_a_reminder_mailed_while_another_connection_commits_is_recorded_sent(
        file_app, other, monkeypatch):
    from tracker import mail
    from tracker.reminders.models import OutboxMessage, Reminder
    from tracker.reminders.tasks import send

    first, *_rest = _due_reminders()
    with frozen(DAY), commits_during(monkeypatch, mail, "deliver", other) as calls:
        assert send(first) == "sent"  # through the task's __call__, as the worker runs it
    assert calls == ["deliver"]
    assert _statuses(Reminder, [first]) == ["sent"]
    assert db.session.scalar(select(OutboxMessage.reminder_id)) == first
    db.session.rollback()


def test_a_batch_mailed_while_another_connection_commits_records_every_one(
        file_app, other, monkeypatch):
    from tracker import mail
    from tracker.reminders.models import Reminder
    from tracker.reminders.tasks import send_batch

    ids = _due_reminders()
    with frozen(DAY), commits_during(monkeypatch, mail, "deliver", other) as calls:
        assert send_batch() == {"sent": len(ids)}
    assert len(calls) == len(ids)
    assert _statuses(Reminder, ids) == ["sent"] * len(ids)


def test_a_batch_claims_its_reminders_after_a_commit_in_between(file_app, other):
    """The batch's claim reads the due ids, then updates them: a writing transaction."""
    from tracker.reminders.models import Reminder
    from tracker.reminders.tasks import send_batch

    ids = _due_reminders()
    with frozen(DAY), other_commits_after_first_read(db.engine, other) as fired:
        assert send_batch() == {"sent": len(ids)}
    assert fired == ["waits"]  # the claim held the write lock from its BEGIN, briefly
    assert _statuses(Reminder, ids) == ["sent"] * len(ids)


def test_a_reminder_no_longer_wanted_is_skipped_after_a_commit_in_between(file_app, other):
    from tracker.enterprises.models import Enterprise
    from tracker.reminders.models import Reminder
    from tracker.reminders.tasks import send

    first, *_rest = _due_reminders()
    firm = db.session.scalar(select(Enterprise))
    firm.status = "archived"
    db.session.commit()
    with frozen(DAY), other_commits_after_first_read(db.engine, other) as fired:
        assert send(first) == "skipped"  # the claim is an UPDATE: the first read is after it
    # that first read is the claim's own commit recounting the firm's ledger marks (the
    # dashboard's reminder counts): inside the claim's write, so the other connection waits
    assert fired == ["waits"]
    assert _statuses(Reminder, [first]) == ["skipped"]


def test_a_webhook_delivered_while_another_connection_commits_is_recorded(
        file_app, other, monkeypatch):
    from tests.webhooks.conftest import Receiver, make_endpoint
    from tracker.ladder import services as ladder
    from tracker.webhooks import http
    from tracker.webhooks.models import WebhookDelivery
    from tracker.webhooks.tasks import deliver

    with Receiver() as receiver:
        make_endpoint(receiver.url, events=["qualification.granted"])
        db.session.commit()
        firm = make_enterprise(name="天津投递文件库科技有限公司")
        ladder.grant_qualification(firm, "hnte", "GR202512000200", date(2025, 12, 1))
        db.session.commit()
        delivery_id = db.session.scalar(select(WebhookDelivery.id))
        db.session.rollback()
        with commits_during(monkeypatch, http, "post", other) as calls:
            assert deliver(delivery_id) == "delivered"
    assert calls == ["post"]
    assert len(receiver.accepted) == 1
    assert _statuses(WebhookDelivery, [delivery_id]) == ["delivered"]


def test_the_password_reset_mail_task_writes_its_token_after_a_commit_in_between(
        file_app, other, monkeypatch):
    from tracker import mail
    from tracker.accounts.models import UserToken
    from tracker.accounts.tasks import send_password_reset

    user = make_user("bureau")
    db.session.commit()
    user_id = user.id
    db.session.rollback()
    with other_commits_after_first_read(db.engine, other) as fired, \
            commits_during(monkeypatch, mail, "deliver", other) as calls:
        assert send_password_reset(user_id) is True
    # the token's short transaction holds the write lock from its BEGIN; the mail, none
    assert fired == ["waits"] and calls == ["deliver"]
    db.session.rollback()
    assert db.session.scalar(select(UserToken.user_id)) == user_id
    assert len(list(Path(file_app.config["MAIL_DIR"]).glob("*.eml"))) == 1


def test_the_integrity_check_records_its_run_after_a_commit_in_between(file_app, other):
    from tracker.integrity.models import IntegrityRun
    from tracker.integrity.tasks import check

    make_enterprise(name="天津核对文件库科技有限公司")
    db.session.commit()  # and no read of ours open
    with other_commits_after_first_read(db.engine, other) as fired:
        assert check() == 0
    assert fired == ["committed"]  # the long read holds no lock
    db.session.rollback()
    assert db.session.scalar(select(IntegrityRun.trigger)) == "beat"
