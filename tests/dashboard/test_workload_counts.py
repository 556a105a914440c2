"""The workload chart's maintained reminder and application counts stay exact as the ledger
moves without any firm being saved (the scheduled sweep, sending, the reaper, staff actions,
an unsubscribe) and as firms are saved (an application, a zone move, an archive): after each
commit every scope's figure equals the straightforward query, and the chart reads them."""

from __future__ import annotations

from datetime import date, timedelta

from sqlalchemy import select, update

from tests.dashboard.test_aggregates import (  # noqa: F401 - the fixtures
    DAY,
    SCOPES,
    add_reminder,
    assert_current_and_equal,
    counted_change_outside_the_pipeline,
    users,
    world,
)
from tracker.clock import frozen, now_utc
from tracker.dashboard import aggregates, charts, ledger_counts
from tracker.enterprises import services as enterprises
from tracker.extensions import db
from tracker.ladder import services as ladder
from tracker.reminders import services as reminders
from tracker.reminders.models import Reminder, ReminderRule
from tracker.reminders.sweep import run_sweep


def _expiring_title_with_a_contact(firm) -> object:
    """An HNTE ending in 30 days (due today for hnte_expiry) and a contact to remind."""
    ladder.grant_qualification(firm, "hnte", None, date(2023, 12, 31), DAY + timedelta(days=30))
    return enterprises.save_contact(firm, {"name": "张伟", "email": "zhang@firm.example",
                                           "receives_reminders": True})


def test_the_ledger_moving_keeps_the_reminder_counts_exact(world, users):  # noqa: F811 - the fixtures
    with frozen(DAY):
        # the rule is off while the firm is saved: the pipeline's own sweep makes nothing
        rule = db.session.scalar(select(ReminderRule).where(ReminderRule.code == "hnte_expiry"))
        rule.enabled = False
        contact = _expiring_title_with_a_contact(world["C"])
        db.session.commit()
        assert_current_and_equal(users)
        rule.enabled = True
        made = run_sweep(DAY)  # the scheduled sweep: no firm saved
        assert made["hnte_expiry"] >= 1
        db.session.commit()
        assert_current_and_equal(users)
        assert aggregates.sums(users["hitech"], "reminders")[("pending", None)] >= 1

        claimed = reminders.claim_batch(50)  # pending -> sending
        assert claimed
        db.session.commit()
        assert_current_and_equal(users)
        assert reminders.reap(now_utc() + timedelta(days=1)) == len(claimed)  # -> pending
        db.session.commit()
        assert_current_and_equal(users)

        ours = db.session.scalar(select(Reminder.id).where(
            Reminder.enterprise_id == world["C"].id, Reminder.recipient_type == "contact"))
        claimed_at = reminders.claim(ours)
        db.session.commit()
        assert reminders.send_claimed(ours, claimed_at).status == "sent"
        db.session.commit()
        assert_current_and_equal(users)

        sent = db.session.get(Reminder, ours)
        reminders.mark_handled(sent, users["bureau"])  # the ORM's change, noted at its flush
        db.session.commit()
        assert_current_and_equal(users)
        reminders.resend(sent)  # handled -> pending
        db.session.commit()
        assert_current_and_equal(users)
        assert reminders.unsubscribe(contact, None) >= 1  # pending -> skipped, one UPDATE
        db.session.commit()
        assert_current_and_equal(users)

        failed = select(Reminder).where(Reminder.status == "failed")
        assert reminders.retry_all(failed) == 2  # failed -> pending
        db.session.commit()
        assert_current_and_equal(users)
        add_reminder(world["F"], "expired", "f1")  # a new row through the ORM
        db.session.commit()
        assert_current_and_equal(users)


def test_a_ledger_write_on_stale_figures_leaves_them_to_the_refresh(world, users):  # noqa: F811 - the fixtures
    with frozen(DAY):
        counted_change_outside_the_pipeline(world)
        pending = db.session.scalar(select(Reminder.id).where(Reminder.status == "pending"))
        assert reminders.claim(pending) is not None
        db.session.commit()
        assert aggregates.current_state() is None  # not papered over by the ledger's recount
        aggregates.refresh()
        db.session.commit()
        assert_current_and_equal(users)


def test_saves_and_a_rolled_back_ledger_write_keep_the_counts(world, users):  # noqa: F811 - the fixtures
    from tracker.ladder.models import Application

    with frozen(DAY):
        db.session.add(Application(enterprise_id=world["C"].id, kind="hnte", year=2026,
                                   status="submitted"))
        db.session.commit()
        assert_current_and_equal(users)
        world["A"].zone = "teda"  # its applications and reminders move zone
        db.session.commit()
        assert_current_and_equal(users)
        world["D"].status = "archived"  # leaves the applications, stays in the ledger
        db.session.commit()
        assert_current_and_equal(users)
        db.session.execute(update(Reminder).values(status="handled"))
        add_reminder(world["B"], "sent", "b1")
        db.session.rollback()  # nothing noted survives: the next commit recounts nothing
        world["B"].name = "聚合测试B改名有限公司"
        db.session.commit()
        assert_current_and_equal(users)


def test_the_workload_chart_reads_the_maintained_counts(world, users, app):  # noqa: F811 - the fixtures
    """Current figures: no application rows read, and the ledger only beyond the zones'
    figures (rows about no firm; an officer's own rows), each on an index of its own."""
    from tests.dashboard.test_cold_queries import _statements

    with frozen(DAY), app.test_request_context("/"):
        for scope in SCOPES:
            user = users[scope]
            seen = " ".join(s for s, _p in _statements(lambda u=user: charts.workload(u)))
            assert "FROM applications" not in seen, scope
            ledger = [s for s in seen.split("SELECT") if "FROM reminders" in s]
            assert ledger, scope
            for part in ledger:
                assert ("reminders.enterprise_id IS NULL" in part
                        or "reminders.recipient_id" in part), part
            panels = {p.id: p for p in charts.workload(user)}
            shown = dict(zip(panels["workload-reminders"].categories,
                             panels["workload-reminders"].series[0].values, strict=True))
            assert sum(shown.values()) == sum(ledger_counts.reminder_counts_live(user).values())
