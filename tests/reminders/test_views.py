"""Ledger, outbox, rules, cycles, unsubscribe and calendar pages: scoping, actions, CSRF."""

from __future__ import annotations

from datetime import date

import pytest
from sqlalchemy import select

from tests.conftest import count_queries, csrf_from, login
from tests.factories import make_enterprise, make_user
from tests.reminders.conftest import make_qualification
from tracker.audit.models import AuditEvent
from tracker.clock import frozen
from tracker.extensions import db
from tracker.reminders import services
from tracker.reminders.models import Filing, OfficialCycle, Reminder, ReminderRule
from tracker.reminders.sweep import run_sweep
from tracker.reminders.tasks import send_batch

DAY = date(2026, 12, 1)


@pytest.fixture
def two_zones(firm):
    """Due reminders for a 高新区 firm (hitech) and a 经开区 firm (teda)."""
    make_qualification(firm["enterprise"], valid_until=date(2026, 12, 31))
    teda = make_enterprise(name="天津泰达生物医药有限公司", zone="teda",
                           officer_id=firm["officer"].id)
    make_qualification(teda, valid_until=date(2026, 12, 20))
    with frozen(DAY):
        run_sweep(DAY)
        db.session.commit()
    return {"hitech": firm["enterprise"], "teda": teda}


def _ids(html: str) -> set[int]:
    import re

    return {int(x) for x in re.findall(r'<tr data-id="(\d+)"', html)}


def _reminders(enterprise) -> set[int]:
    return set(db.session.scalars(select(Reminder.id).where(
        Reminder.enterprise_id == enterprise.id)))


def test_zone_staff_see_only_their_zone_and_others_get_404(client, two_zones):
    login(client, make_user("zone", zone="hitech"))
    html = client.get("/reminders/").get_data(as_text=True)
    assert _ids(html) == _reminders(two_zones["hitech"])
    foreign = next(iter(_reminders(two_zones["teda"])))
    token = csrf_from(html)
    assert client.post(f"/reminders/{foreign}/resend", data={"csrf_token": token}
                       ).status_code == 404
    assert client.post(f"/reminders/{foreign}/handle", data={"csrf_token": token}
                       ).status_code == 404


def test_bureau_sees_all_and_filters(client, two_zones):
    login(client, make_user("bureau"))
    html = client.get("/reminders/").get_data(as_text=True)
    assert _ids(html) == _reminders(two_zones["hitech"]) | _reminders(two_zones["teda"])
    html = client.get("/reminders/?q=泰达&status=pending").get_data(as_text=True)
    assert _ids(html) == _reminders(two_zones["teda"])
    assert _ids(client.get("/reminders/?status=sent").get_data(as_text=True)) == set()
    assert "没有符合条件的提醒" in client.get("/reminders/?status=sent").get_data(as_text=True)


def test_ledger_query_count_does_not_grow_with_page_size(client, two_zones):
    login(client, make_user("bureau"))
    with count_queries() as small:
        client.get("/reminders/?size=1")
    with count_queries() as large:
        client.get("/reminders/?size=50")
    assert len(large) == len(small)


def test_viewer_cannot_act(client, two_zones):
    login(client, make_user("viewer"))
    html = client.get("/reminders/").get_data(as_text=True)
    assert "重发" not in html
    some = next(iter(_reminders(two_zones["hitech"])))
    assert client.post(f"/reminders/{some}/handle", data={"csrf_token": csrf_from(html)}
                       ).status_code == 403


def test_resend_and_mark_handled_are_audited(client, two_zones, smtp):
    with frozen(DAY):
        send_batch.run()
    user = make_user("bureau")
    db.session.commit()
    login(client, user)
    rid = min(_reminders(two_zones["hitech"]))
    token = csrf_from(client.get("/reminders/").get_data(as_text=True))
    assert client.post(f"/reminders/{rid}/resend", data={"csrf_token": token}).status_code == 302
    db.session.expire_all()
    assert db.session.get(Reminder, rid).status == "pending"
    again = client.post(f"/reminders/{rid}/resend", data={"csrf_token": token},
                        follow_redirects=True).get_data(as_text=True)
    assert "无需重发" in again
    assert client.post(f"/reminders/{rid}/handle", data={"csrf_token": token}).status_code == 302
    db.session.expire_all()
    row = db.session.get(Reminder, rid)
    assert row.status == "handled" and row.handled_by_id == user.id
    actions = set(db.session.scalars(select(AuditEvent.action).where(
        AuditEvent.entity_type == "reminder", AuditEvent.entity_id == rid)))
    assert actions == {"resend", "handle"}
    assert client.post(f"/reminders/{rid}/handle", data={}).status_code == 400  # CSRF


def test_marking_a_report_reminder_handled_records_the_filing(client, firm):
    make_qualification(firm["enterprise"], granted_on=date(2023, 12, 1),
                       valid_until=date(2026, 11, 30))
    with frozen(date(2026, 5, 2)):
        run_sweep(date(2026, 5, 2))
        db.session.commit()
    rows = db.session.scalars(select(Reminder).join(ReminderRule).where(
        ReminderRule.kind == "hnte_annual_report")).all()
    assert len(rows) == 2
    login(client, make_user("bureau"))
    token = csrf_from(client.get("/reminders/").get_data(as_text=True))
    client.post(f"/reminders/{rows[0].id}/handle", data={"csrf_token": token})
    db.session.expire_all()
    assert {r.status for r in rows} == {"handled"}  # the same matter for every recipient
    assert db.session.scalar(select(Filing).where(Filing.year == 2026)) is not None


def test_unsubscribe_link_works_without_login_and_is_recorded(client, two_zones, smtp, firm):
    with frozen(DAY):
        send_batch.run()
    mail = {a.rcpt[0]: a.message() for a in smtp.handler.snapshot()}["zhang@firm.example"]
    link = next(word for word in mail.get_body(("plain",)).get_content().split()
                if "/reminders/unsubscribe/" in word)
    path = link.split("127.0.0.1:5000", 1)[1]
    page = client.get(path)
    assert page.status_code == 200 and "确认退订" in page.get_data(as_text=True)
    assert client.post(path, data={}).status_code == 400  # no CSRF token
    done = client.post(path, data={"csrf_token": csrf_from(page.get_data(as_text=True))})
    assert "已退订" in done.get_data(as_text=True)
    db.session.expire_all()
    assert firm["contact"].unsubscribed_at is not None
    origin = db.session.scalar(select(Reminder).where(Reminder.to_address == "zhang@firm.example",
                                                      Reminder.unsubscribed_at.is_not(None)))
    assert origin is not None
    assert client.get(path[:-3] + "xyz").status_code == 404  # tampered token
    with frozen(date(2026, 12, 10)):
        run_sweep(date(2026, 12, 10))
    assert "zhang@firm.example" not in {r.to_address for r in db.session.scalars(
        select(Reminder).where(Reminder.status == "pending"))}


def test_admin_edits_rules_with_clear_errors(client, rules):
    login(client, make_user("admin"))
    rule = db.session.scalar(select(ReminderRule).where(ReminderRule.code == "hnte_expiry"))
    url = f"/reminders/rules/{rule.id}/edit"
    token = csrf_from(client.get(url).get_data(as_text=True))
    bad = client.post(url, data={"csrf_token": token, "name": "x", "offsets": "90, abc",
                                 "recipients": ["officer"]})
    assert "提前天数须为" in bad.get_data(as_text=True)
    ok = client.post(url, data={"csrf_token": token, "name": "高企到期", "offsets": "60，7",
                                "recipients": ["officer", "zone_staff"], "enabled": "y",
                                "programme": "", "version": rule.version})
    assert ok.status_code == 302
    db.session.expire_all()
    assert rule.offsets == [60, 7] and rule.recipients == ["officer", "zone_staff"]
    client.get("/logout")


def test_only_admins_edit_rules_and_cycles(client, rules):
    login(client, make_user("bureau"))
    rule = db.session.scalar(select(ReminderRule))
    assert client.get(f"/reminders/rules/{rule.id}/edit").status_code == 403
    assert client.get("/reminders/cycles/new").status_code == 403
    assert client.get("/reminders/rules").status_code == 200


def test_admin_manages_official_cycles(client):
    login(client, make_user("admin"))
    token = csrf_from(client.get("/reminders/cycles/new").get_data(as_text=True))
    data = {"csrf_token": token, "programme": "hnte_application", "year": "2026",
            "batch": "第一批", "opens_on": "2026-04-01", "closes_on": "2026-03-01"}
    assert "截止日期不能早于开始日期" in client.post("/reminders/cycles/new", data=data
                                               ).get_data(as_text=True)
    data["closes_on"] = "2026-06-30"
    assert client.post("/reminders/cycles/new", data=data).status_code == 302
    dup = client.post("/reminders/cycles/new", data=data)
    assert dup.status_code == 400 and "已存在" in dup.get_data(as_text=True)
    cycle = db.session.scalar(select(OfficialCycle))
    assert "第一批" in client.get("/reminders/cycles").get_data(as_text=True)
    client.post(f"/reminders/cycles/{cycle.id}/delete", data={"csrf_token": token})
    assert db.session.get(OfficialCycle, cycle.id) is not None  # not confirmed
    client.post(f"/reminders/cycles/{cycle.id}/delete", data={"csrf_token": token,
                                                              "confirm": "yes"})
    db.session.expire_all()
    assert db.session.get(OfficialCycle, cycle.id) is None
    assert [e.action for e in db.session.scalars(select(AuditEvent).where(
        AuditEvent.entity_type == "official_cycle").order_by(AuditEvent.id))] == [
        "create", "delete"]


def test_calendar_feed_by_secret_url_lists_deadlines_in_scope(client, two_zones):
    zone_user = make_user("zone", zone="hitech")
    with frozen(DAY):
        login(client, zone_user)
        page = client.get("/reminders/calendar").get_data(as_text=True)
        feed_path = page.split('id="feed-url"')[0].rsplit('value="', 1)[1].split('"')[0]
        feed_path = "/" + feed_path.split("/", 3)[3]
        client.get("/logout")
        body = client.get(feed_path)
    text = body.get_data(as_text=True)
    assert body.mimetype == "text/calendar" and text.startswith("BEGIN:VCALENDAR")
    assert "DTSTART;VALUE=DATE:20261231" in text
    assert "20261220" not in text  # the teda firm is outside this user's scope
    assert client.get("/reminders/calendar/nonsense.ics").status_code == 404


def test_dashboard_card_and_enterprise_panel(client, two_zones):
    login(client, make_user("bureau"))
    html = client.get("/").get_data(as_text=True)
    assert 'id="reminder-counts"' in html
    detail = client.get(f"/enterprises/{two_zones['hitech'].id}").get_data(as_text=True)
    assert "高企证书即将到期" in detail


def test_outbox_lists_what_was_sent(client, two_zones, smtp):
    with frozen(DAY):
        send_batch.run()
    login(client, make_user("zone", zone="teda"))
    html = client.get("/reminders/outbox").get_data(as_text=True)
    assert "天津泰达生物医药有限公司" in html and "天津海河智能科技有限公司" not in html


def test_digest_rule_links_are_built_from_base_url(app, firm):
    make_qualification(firm["enterprise"], valid_until=date(2026, 12, 31))
    with frozen(DAY):
        run_sweep(DAY)
    reminder = db.session.scalar(select(Reminder).where(Reminder.recipient_type == "contact"))
    with app.app_context():
        ctx = services.email_context(reminder)
    assert ctx["unsubscribe_url"].startswith("http://127.0.0.1:5000/reminders/unsubscribe/")


def test_officer_switches_to_the_daily_digest(client, firm):
    officer = firm["officer"]
    make_qualification(firm["enterprise"], valid_until=date(2026, 12, 31))
    with frozen(DAY):
        run_sweep(DAY)
        db.session.commit()
    login(client, officer)
    token = csrf_from(client.get("/reminders/calendar").get_data(as_text=True))
    assert client.post("/reminders/preferences", data={"csrf_token": token,
                                                       "wants_digest": "1"}).status_code == 302
    db.session.expire_all()
    assert officer.wants_digest
    mine = db.session.scalars(select(Reminder).where(Reminder.recipient_type == "user",
                                                     Reminder.recipient_id == officer.id)).all()
    assert {r.channel for r in mine} == {"digest"}
    assert db.session.scalar(select(AuditEvent).where(AuditEvent.entity_type == "user",
                                                      AuditEvent.entity_id == officer.id,
                                                      AuditEvent.action == "update"))


def test_ledger_export_is_scoped_and_neutralised(client, two_zones):
    login(client, make_user("zone", zone="hitech"))
    body = client.get("/reminders/export?format=csv").get_data(as_text=True)
    assert two_zones["hitech"].name in body
    assert two_zones["teda"].name not in body
    assert body.splitlines()[0].lstrip("\ufeff").startswith("企业名称,提醒类型")
    xlsx = client.get("/reminders/export")
    assert xlsx.status_code == 200
    assert xlsx.mimetype.endswith("spreadsheetml.sheet")


def test_one_click_unsubscribe_post_rfc8058(client, two_zones, smtp, firm):
    """The List-Unsubscribe URL itself takes the mail client's POST: no CSRF token, no page,
    the signed token authenticates, and a second POST changes nothing."""
    with frozen(DAY):
        send_batch.run()
    raw = {a.rcpt[0]: a.raw for a in smtp.handler.snapshot()}["zhang@firm.example"]
    header = raw.split(b"List-Unsubscribe:", 1)[1].split(b"\r\n", 2)
    assert b"=?" not in header[0] + header[1]  # not an RFC 2047 encoded word
    url = header[1].strip().decode()
    assert url.startswith("<http://127.0.0.1:5000/reminders/unsubscribe/") and url.endswith(">")
    assert b"\r\nList-Unsubscribe-Post: List-Unsubscribe=One-Click\r\n" in raw
    path = url[1:-1].split("127.0.0.1:5000", 1)[1]
    for _ in range(2):
        response = client.post(path, data={"List-Unsubscribe": "One-Click"})
        assert response.status_code == 200
        db.session.expire_all()
        assert firm["contact"].unsubscribed_at is not None
    events = db.session.scalars(select(AuditEvent).where(AuditEvent.action == "unsubscribe"))
    assert len(list(events)) == 1
    assert client.post(path[:-3] + "xyz", data={"List-Unsubscribe": "One-Click"}
                       ).status_code == 404


def test_ledger_retries_every_failed_and_expired_row_of_its_filter(client, two_zones, smtp, firm):
    from sqlalchemy import update

    with frozen(DAY):
        run_sweep(DAY)
    rows = list(db.session.scalars(select(Reminder).order_by(Reminder.id)))
    db.session.execute(update(Reminder).values(status="expired", attempts=40,
                                               last_error="expired: still failing"))
    db.session.commit()
    login(client, make_user("bureau"))
    page = client.get("/reminders/?status=expired&to=zhang")
    assert "重发本筛选中全部发送失败和已过期的提醒" in page.get_data(as_text=True)
    assert "已过期（未能送达）</span>" in page.get_data(as_text=True)  # the status badge
    response = client.post("/reminders/retry-failed?status=expired&to=zhang",
                           data={"csrf_token": csrf_from(page.get_data(as_text=True))})
    assert response.status_code == 302
    db.session.expire_all()
    by_address = {r.to_address: (r.status, r.attempts) for r in rows}
    assert by_address["zhang@firm.example"] == ("pending", 0)
    assert {v for k, v in by_address.items() if k != "zhang@firm.example"} == {("expired", 40)}
