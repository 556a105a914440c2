"""The ledger's per-status counts: exact below the cap, "N+" above it, in the user's scope.

The counts read at most cap+1 rows per status, so a ledger that keeps growing (`sent` never
shrinks) does not make every ledger and dashboard request slower (issue 12).
"""

from __future__ import annotations

from datetime import date
from typing import Any

import pytest
from sqlalchemy import select

from tests.conftest import count_queries, login
from tests.factories import make_enterprise, make_tenancy, make_user
from tracker.clock import frozen
from tracker.dashboard import charts
from tracker.extensions import db
from tracker.incubation.models import Carrier
from tracker.reminders.counts import status_counts
from tracker.reminders.models import Reminder, ReminderRule

DAY = date(2026, 12, 1)
CAP = 5


@pytest.fixture
def small_cap(app):
    """The ledger counts stop at 5 for this test."""
    previous = app.config.get("LEDGER_COUNT_CAP")
    app.config["LEDGER_COUNT_CAP"] = CAP
    yield CAP
    app.config["LEDGER_COUNT_CAP"] = previous


def add_reminders(enterprise: Any, status: str, n: int) -> None:
    """`n` ledger rows about `enterprise` in `status` (the ledger as the sender leaves it)."""
    rule_id = db.session.scalar(select(ReminderRule.id).order_by(ReminderRule.id).limit(1))
    for i in range(n):
        db.session.add(Reminder(
            rule_id=rule_id, subject_type="enterprise", subject_id=enterprise.id,
            occurrence_on=DAY, occurrence_tag=f"{status}{i}", recipient_type="contact",
            recipient_id=enterprise.id, to_address=f"{status}{i}@firm.example",
            enterprise_id=enterprise.id, status=status))
    db.session.flush()


@pytest.fixture
def ledger(rules):
    """A 高新区 firm with 7 sent, 3 failed and 5 handled rows; a 经开区 firm with 6 failed."""
    hitech = make_enterprise(name="天津海河智能科技有限公司", zone="hitech")
    teda = make_enterprise(name="天津泰达生物医药有限公司", zone="teda")
    add_reminders(hitech, "sent", 7)
    add_reminders(hitech, "failed", 3)
    add_reminders(hitech, "handled", CAP)
    add_reminders(teda, "failed", 6)
    return {"hitech": hitech, "teda": teda}


def _counts_bar(html: str) -> str:
    return html.split('id="status-counts"', 1)[1].split("</div>", 1)[0]


def test_counts_are_exact_below_the_cap_and_marked_above_it(client, ledger, small_cap):
    login(client, make_user("bureau"))
    html = client.get("/reminders/").get_data(as_text=True)
    bar = _counts_bar(html)
    assert "已发送 5+" in bar  # 7 sent: more than the cap
    assert "发送失败 5+" in bar  # 3 + 6 failed
    assert "已处理 5<" in bar  # exactly the cap is still exact
    assert "待发送 0<" in bar
    assert "超过 5 条后不再逐条计数" in html  # the page says the "+" is a lower bound


def test_zone_staff_count_only_their_zone(app, client, ledger, small_cap):
    login(client, make_user("zone", zone="hitech"))
    bar = _counts_bar(client.get("/reminders/").get_data(as_text=True))
    assert "发送失败 3<" in bar  # the 6 failed in 经开区 are not theirs
    assert "已发送 5+" in bar
    other = app.test_client()
    login(other, make_user("zone", zone="teda"))
    bar = _counts_bar(other.get("/reminders/").get_data(as_text=True))
    assert "发送失败 5+" in bar and "已发送 0<" in bar


def test_capped_counts_say_so_in_english(client, ledger, small_cap):
    login(client, make_user("bureau", locale="en"))
    html = client.get("/reminders/").get_data(as_text=True)
    assert "5+" in _counts_bar(html)
    assert "no longer counted one by one past 5" in html


def test_status_counts_stop_at_the_cap_in_one_statement(app, ledger, small_cap):
    bureau = make_user("bureau")
    db.session.flush()
    with count_queries() as statements:
        counts = status_counts(bureau)
    assert len(statements) == 1
    # every count reads at most cap+1 rows, never the whole status
    assert all("LIMIT" in s.upper() for s in statements)
    assert dict(counts) == {"pending": 0, "sending": 0, "sent": CAP, "failed": CAP,
                            "expired": 0, "handled": CAP, "skipped": 0, "digested": 0}
    assert counts.capped == {"sent", "failed"}
    zone = status_counts(make_user("zone", zone="hitech"))
    assert zone["failed"] == 3 and zone.capped == {"sent"}


def test_counts_without_a_cap_match_a_plain_group_by(app, ledger):
    rows = dict(db.session.execute(select(Reminder.status, db.func.count()).group_by(
        Reminder.status)).all())
    counts = status_counts(make_user("bureau"))
    assert {s: n for s, n in counts.items() if n} == rows and not counts.capped


def _own(user: Any, enterprise: Any | None, status: str, tag: str) -> None:
    """A row addressed to `user`: a digest (no firm) or an officer's copy about a firm."""
    rule_id = db.session.scalar(select(ReminderRule.id).order_by(ReminderRule.id).limit(1))
    db.session.add(Reminder(
        rule_id=rule_id, subject_type="user" if enterprise is None else "enterprise",
        subject_id=user.id if enterprise is None else enterprise.id, occurrence_on=DAY,
        occurrence_tag=tag, recipient_type="user", recipient_id=user.id, to_address=user.email,
        enterprise_id=None if enterprise is None else enterprise.id, status=status))
    db.session.flush()


def test_counts_equal_the_ledgers_rows_in_every_scope(app, ledger):
    """The capped counts (below the cap) against a plain GROUP BY over `reminder_scope`."""
    from tracker.accounts.scope import reminder_scope

    hitech_staff = make_user("zone", zone="hitech")
    manager = make_user("carrier_manager")
    make_tenancy(ledger["teda"], db.session.get(Carrier, manager.carrier_id))
    _own(hitech_staff, None, "sent", "daily")  # their digest
    _own(hitech_staff, ledger["teda"], "failed", "officer")  # a copy about a firm outside
    _own(hitech_staff, ledger["hitech"], "failed", "zone")  # a copy about a firm inside
    _own(manager, None, "pending", "daily")
    users = [make_user("bureau"), hitech_staff, make_user("zone", zone="teda"), manager,
             make_user("zone", zone="dongjiang")]
    for user in users:
        plain = dict(db.session.execute(
            select(Reminder.status, db.func.count()).where(reminder_scope(user))
            .group_by(Reminder.status)).all())
        counts = status_counts(user)
        assert {s: n for s, n in counts.items() if n} == plain, user.role
        assert not counts.capped
    assert status_counts(hitech_staff)["failed"] == 3 + 2
    assert status_counts(manager) == {**dict.fromkeys(status_counts(manager), 0),
                                      "failed": 6 + 1, "pending": 1}


def test_dashboard_card_and_chart_mark_capped_counts(app, client, ledger, small_cap):
    bureau = make_user("bureau")
    login(client, bureau)
    html = client.get("/").get_data(as_text=True)
    card = html.split('id="reminder-counts"', 1)[1].split("</table>", 1)[0]
    assert "5+" in card and "超过 5 条后不再逐条计数" in card
    with frozen(DAY), app.test_request_context("/"):
        panels = charts.payload("workload", bureau)
    panel = next(p for p in panels if p["id"] == "workload-reminders")
    assert panel["series"][0]["values"][panel["categories"].index("已发送")] == CAP
    assert "超过 5 条后不再逐条计数" in panel["note"]
