"""Delivery over a real SMTP server: claim, send once, retry transient, fail permanent, reap."""

from __future__ import annotations

from datetime import UTC, date, datetime, timedelta

import pytest
from sqlalchemy import select, update

from tests.reminders.conftest import make_qualification
from tracker.clock import frozen
from tracker.extensions import db
from tracker.reminders import services
from tracker.reminders.models import OutboxMessage, Reminder
from tracker.reminders.sweep import run_sweep
from tracker.reminders.tasks import send, send_batch

DAY = date(2026, 12, 1)


@pytest.fixture
def due(firm):
    """Two due HNTE-expiry reminders (contact and officer) on DAY."""
    make_qualification(firm["enterprise"], valid_until=date(2026, 12, 31))
    with frozen(DAY):
        run_sweep(DAY)
        db.session.commit()
    return list(db.session.scalars(select(Reminder).order_by(Reminder.id)))


def _status(reminder_id: int) -> Reminder:
    db.session.expire_all()
    return db.session.get(Reminder, reminder_id)


def test_batch_sends_each_reminder_once_with_text_and_html(due, smtp, firm):
    with frozen(DAY):
        assert send_batch.run() == {"sent": 2}
        assert send_batch.run() == {}  # nothing left to claim
        for reminder in due:
            assert send.run(reminder.id) == "not-pending"
    accepted = smtp.handler.snapshot()
    assert sorted(a.rcpt[0] for a in accepted) == sorted(["zhang@firm.example",
                                                          firm["officer"].email])
    by_rcpt = {a.rcpt[0]: a.message() for a in accepted}
    contact_mail = by_rcpt["zhang@firm.example"]
    assert "高企证书到期提醒" in contact_mail["Subject"]
    assert "天津海河智能科技有限公司" in contact_mail["Subject"]
    assert contact_mail.get_content_type() == "multipart/alternative"
    text = contact_mail.get_body(("plain",)).get_content()
    html = contact_mail.get_body(("html",)).get_content()
    assert "2026-12-31" in text and "30 天" in text and "<p>" in html
    assert "/reminders/unsubscribe/" in text and contact_mail["List-Unsubscribe"]
    officer_mail = by_rcpt[firm["officer"].email]
    assert "unsubscribe" not in officer_mail.get_body(("plain",)).get_content()
    for reminder in due:
        row = _status(reminder.id)
        assert row.status == "sent" and row.attempts == 1 and row.sent_at is not None
    ids = {a.message_id for a in accepted}
    assert ids == {_status(r.id).message_id("localhost") for r in due}
    assert len(db.session.scalars(select(OutboxMessage)).all()) == 2


def test_english_when_the_contact_prefers_it(due, smtp, firm):
    firm["contact"].locale = "en"
    db.session.execute(Reminder.__table__.update().where(
        Reminder.recipient_type == "contact").values(locale="en"))
    db.session.commit()
    with frozen(DAY):
        send_batch.run()
    mail = {a.rcpt[0]: a.message() for a in smtp.handler.snapshot()}["zhang@firm.example"]
    assert "certificate" in mail["Subject"].lower()
    assert "expires" in mail.get_body(("plain",)).get_content()


def test_transient_errors_back_off_then_succeed(due, smtp):
    smtp.handler.transient = 1.0
    reminder_id = due[0].id
    with frozen(DAY):
        assert send.run(reminder_id) == "retry"
    row = _status(reminder_id)
    assert row.status == "pending" and row.attempts == 1 and "451" in row.last_error
    assert row.next_attempt_at > datetime(2026, 12, 1, 1, 0, tzinfo=UTC)
    with frozen(DAY):
        assert send.run(reminder_id) == "not-pending"  # not before the backoff is over
    smtp.handler.transient = 0.0
    with frozen(row.next_attempt_at + timedelta(seconds=1)):
        assert send.run(reminder_id) == "sent"
    row = _status(reminder_id)
    assert row.status == "sent" and row.attempts == 2 and row.last_error is None


def test_backoff_is_exponential_and_bounded(app):
    with app.app_context():
        delays = [services.backoff_seconds(n) for n in range(1, 12)]
    assert delays[0] <= 72 and delays[3] >= 8 * 60 * 0.8
    assert max(delays) <= 3600 * 1.2


def test_permanent_errors_fail_with_the_reason(due, smtp):
    smtp.handler.permanent = 1.0
    with frozen(DAY):
        assert send.run(due[0].id) == "failed"
    row = _status(due[0].id)
    assert row.status == "failed" and "550" in row.last_error


def test_an_outage_longer_than_the_old_budget_retries_at_the_cap_until_the_due_date(due, smtp):
    """Eight attempts used to end in `failed` for good; the clock of attempts alone no longer
    makes anything permanent: only the reminder's own deadline does, as `expired`."""
    smtp.handler.transient = 1.0
    reminder_id = due[0].id  # due 2026-12-31: useful until the end of that day, Beijing time
    at = datetime(2026, 12, 1, 1, 0, tzinfo=UTC)
    for _ in range(20):
        with frozen(at):
            assert send.run(reminder_id) == "retry"
        row = _status(reminder_id)
        assert row.next_attempt_at - at <= timedelta(seconds=3600 * 1.2)  # the cap interval
        at = row.next_attempt_at + timedelta(seconds=1)
    assert _status(reminder_id).attempts == 20
    with frozen(datetime(2026, 12, 31, 15, 59, 30, tzinfo=UTC)):
        assert send.run(reminder_id) == "expired"
    row = _status(reminder_id)
    assert row.status == "expired" and row.last_error.startswith("expired: still failing")
    assert "2027-01-01 00:00" in row.last_error and "451" in row.last_error

    services.resend(row)  # a fresh start: the attempt count resets
    db.session.commit()
    row = _status(reminder_id)
    assert (row.status, row.attempts, row.last_error) == ("pending", 0, None)


def test_retry_all_requeues_the_failed_and_expired_rows_of_a_filter(due, smtp):
    db.session.execute(update(Reminder).where(Reminder.id == due[0].id)
                       .values(status="expired", attempts=30, last_error="expired: …"))
    db.session.execute(update(Reminder).where(Reminder.id == due[1].id)
                       .values(status="failed", attempts=1, last_error="permanent: 550"))
    query = select(Reminder).where(Reminder.to_address == due[0].to_address)
    assert services.retry_all(query) == 1
    db.session.commit()
    assert (_status(due[0].id).status, _status(due[0].id).attempts) == ("pending", 0)
    assert _status(due[1].id).status == "failed"  # outside the filter
    assert services.retry_all(select(Reminder)) == 1
    with frozen(DAY):
        assert send_batch.run() == {"sent": 2}


def test_reaper_returns_rows_whose_lease_ran_out(due, smtp):
    at = datetime(2026, 12, 1, 1, 0, tzinfo=UTC)
    with frozen(at):
        claimed = services.claim(due[0].id)
        db.session.commit()
    assert claimed and _status(due[0].id).status == "sending"
    lease = services.lease_seconds()  # one whole conversation plus the margin
    assert lease == 20 + 600
    with frozen(at + timedelta(seconds=lease - 1)):
        assert services.reap() == 0
    with frozen(at + timedelta(seconds=lease + 1)):
        assert services.reap() == 1
        db.session.commit()
        # the original sender wakes up late: its claim is gone, so it sends nothing
        assert services.send_claimed(due[0].id, claimed).status == "skipped"
        assert send.run(due[0].id) == "sent"
    assert len(smtp.handler.snapshot()) == 1


def test_a_batch_keeps_the_lease_of_rows_waiting_their_turn(due, smtp, app):
    """Rows claimed together wait while earlier ones are sent; they are not abandoned."""
    at = datetime(2026, 12, 1, 1, 0, tzinfo=UTC)
    with frozen(at):
        claimed = services.claim_batch(10)
        db.session.commit()
    ids = [rid for rid, _ in claimed]
    with frozen(at + timedelta(seconds=500)):
        assert services.heartbeat(ids, claimed[0][1]) == set(ids)
        db.session.commit()
    with frozen(at + timedelta(seconds=700)):  # past the first lease, within the renewed one
        assert services.reap() == 0


def test_without_smtp_url_messages_go_to_the_mail_folder(due, app, tmp_path):
    previous = app.config["SMTP_URL"], app.config["MAIL_DIR"]
    app.config["SMTP_URL"], app.config["MAIL_DIR"] = "", str(tmp_path)
    try:
        with frozen(DAY):
            assert send_batch.run() == {"sent": 2}
    finally:
        app.config["SMTP_URL"], app.config["MAIL_DIR"] = previous
    files = sorted(tmp_path.glob("*.eml"))
    assert len(files) == 2 and b"Message-ID: <reminder-" in files[0].read_bytes()


def test_a_resend_in_mail_folder_mode_keeps_the_earlier_copy(due, app, tmp_path):
    previous = app.config["SMTP_URL"], app.config["MAIL_DIR"]
    app.config["SMTP_URL"], app.config["MAIL_DIR"] = "", str(tmp_path)
    try:
        with frozen(DAY):
            assert send.run(due[0].id) == "sent"
            first = next(tmp_path.glob("*.eml"))
            first.write_bytes(first.read_bytes() + b"\n(as first delivered)")
            services.resend(_status(due[0].id))
            db.session.commit()
            assert send.run(due[0].id) == "sent"
    finally:
        app.config["SMTP_URL"], app.config["MAIL_DIR"] = previous
    assert len(list(tmp_path.glob("*.eml"))) == 2
    assert first.read_bytes().endswith(b"(as first delivered)")
    assert not list(tmp_path.glob("*.tmp"))


def test_smtp_url_forms():
    from tracker.mail import parse_smtp_url

    plain = parse_smtp_url("smtp://user%40x:p%3Ass@mail.example:2525")
    assert (plain.host, plain.port, plain.username, plain.password, plain.ssl) == (
        "mail.example", 2525, "user@x", "p:ss", False)
    assert parse_smtp_url("smtps://mail.example").port == 465
    tls = parse_smtp_url("smtp://mail.example?starttls=1")
    assert tls.starttls and tls.port == 587
    with pytest.raises(ValueError, match="smtp://"):
        parse_smtp_url("http://mail.example")


def test_digest_goes_out_as_one_message_listing_the_items(firm, smtp):
    firm["officer"].wants_digest = True
    make_qualification(firm["enterprise"], valid_until=date(2026, 12, 31))
    with frozen(DAY):
        run_sweep(DAY)
        made = services.build_digests(DAY)
        db.session.commit()
        send_batch.run()
    mails = {a.rcpt[0]: a.message() for a in smtp.handler.snapshot()}
    assert set(mails) == {"zhang@firm.example", firm["officer"].email}
    digest = mails[firm["officer"].email]
    assert "每日提醒汇总" in digest["Subject"] and "1 条" in digest["Subject"]
    assert "天津海河智能科技有限公司" in digest.get_body(("plain",)).get_content()
    assert _status(made[0]).status == "sent"


def test_opt_outs_after_the_sweep_are_honoured_at_send_time(due, smtp, firm):
    firm["contact"].receives_reminders = False
    db.session.commit()
    with frozen(DAY):
        assert send_batch.run() == {"sent": 1, "skipped": 1}
    assert [a.rcpt[0] for a in smtp.handler.snapshot()] == [firm["officer"].email]
    skipped = db.session.scalar(select(Reminder).where(Reminder.status == "skipped"))
    assert skipped.to_address == "zhang@firm.example" and "不接收" in skipped.last_error


def test_the_smtp_timeout_bounds_the_whole_conversation(due, smtp, app):
    """A relay answering each command after 1 s never trips a 2 s per-read timeout, yet the
    conversation lasts over 3 s; the deadline cuts it at 2 s (a transient failure)."""
    import time

    smtp.handler.delay = 1.0
    app.config["REMINDER_SMTP_TIMEOUT"] = 2
    try:
        started = time.monotonic()
        with frozen(DAY):
            assert send.run(due[0].id) == "retry"
        assert time.monotonic() - started < 2.8
    finally:
        app.config["REMINDER_SMTP_TIMEOUT"] = 20
    row = _status(due[0].id)
    assert row.status == "pending" and "exceeded its 2 s deadline" in row.last_error
    assert smtp.handler.snapshot() == []
