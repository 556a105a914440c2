"""The ledger's rows and the enterprise page's reminder panel, with labels, links and the
status badge looked up once per page, print what the per-row lookups printed: every status,
digest and unsubscribed rows, both languages, an editor and a viewer."""

from __future__ import annotations

import re
from datetime import UTC, datetime

import pytest
from flask import render_template_string, session
from sqlalchemy import select, update

from tests.conftest import csrf_from, login
from tests.factories import make_user
from tests.reminders.test_views import two_zones  # noqa: F401 - the fixture
from tracker.extensions import db
from tracker.reminders.models import STATUSES, Reminder

#: the status badge as templates/reminders/_status.html printed it before (per row)
OLD_STATUS = """
{%- set badge = {'pending': 'secondary', 'sending': 'info', 'sent': 'success', 'failed': 'danger', 'expired': 'danger', 'handled': 'dark', 'skipped': 'warning', 'digested': 'light'} -%}
{%- set label = {'pending': _("待发送"), 'sending': _("发送中"), 'sent': _("已发送"), 'failed': _("发送失败"), 'expired': _("已过期（未能送达）"), 'handled': _("已处理"), 'skipped': _("已跳过（退订）"), 'digested': _("已并入汇总")} -%}
<span class="badge text-bg-{{ badge.get(r.status, 'secondary') }}">{{ label.get(r.status, r.status) }}</span>"""  # noqa: E501 - the old template's lines

#: the rest of a ledger row as the template printed it before
OLD_CELLS = """<td class="small">{{ r.to_address }}{% if r.channel == 'digest' %} <span class="badge text-bg-light">{{ _("汇总") }}</span>{% endif %}{% if r.unsubscribed_at %}<div class="text-warning">{{ _("已通过此邮件退订") }} {{ r.unsubscribed_at|localdt }}</div>{% endif %}</td>"""  # noqa: E501


def _switch(client, language: str) -> None:
    if language == "en":
        token = csrf_from(client.get("/reminders/").get_data(as_text=True))
        client.post("/language/en", data={"csrf_token": token, "next": "/reminders/"})


@pytest.mark.parametrize("language", ["zh_CN", "en"])
@pytest.mark.parametrize("role", ["bureau", "viewer"])
@pytest.mark.parametrize("status", [*STATUSES, "unknown"])
def test_each_ledger_row_prints_what_the_per_row_lookups_printed(app, client, two_zones,  # noqa: F811
                                                                  language, role, status):
    first = db.session.scalars(select(Reminder).order_by(Reminder.id)).first()
    db.session.execute(update(Reminder).values(status=status))
    db.session.execute(update(Reminder).where(Reminder.id == first.id).values(
        channel="digest", unsubscribed_at=datetime(2026, 12, 1, 2, 30, tzinfo=UTC)))
    db.session.commit()
    login(client, make_user(role))
    _switch(client, language)
    text = client.get("/reminders/").get_data(as_text=True)
    rows = db.session.scalars(select(Reminder)).all()
    assert rows
    with app.test_request_context():
        session["locale"] = language
        for r in rows:
            found = re.search(rf'<tr data-id="{r.id}">(.*?)</tr>', text, re.S)
            assert found, r.id
            row = found.group(1)
            assert render_template_string(OLD_STATUS, r=r) in row
            assert render_template_string(OLD_CELLS, r=r) in row
            assert f'<a href="/enterprises/{r.enterprise_id}">' in row
            editor = role == "bureau"
            assert (f'action="/reminders/{r.id}/resend"' in row) == (
                editor and status not in ("pending", "sending"))
            assert (f'action="/reminders/{r.id}/handle"' in row) == (editor and status != "handled")
            if "<form" in row:
                assert row.count(f'name="csrf_token" value="{csrf_from(text)}"') == row.count(
                    "<form")
                assert row.count('<input type="hidden" name="next" value="/reminders/?">') == (
                    row.count("<form"))


@pytest.mark.parametrize("language", ["zh_CN", "en"])
def test_the_enterprise_pages_reminder_panel_prints_each_status(app, client, two_zones,  # noqa: F811
                                                                 language):
    firm = two_zones["hitech"]
    db.session.execute(update(Reminder).values(status="failed"))
    db.session.commit()
    login(client, make_user("bureau"))
    _switch(client, language)
    text = client.get(f"/enterprises/{firm.id}").get_data(as_text=True)
    with app.test_request_context():
        session["locale"] = language
        rows = db.session.scalars(select(Reminder).where(Reminder.enterprise_id == firm.id))
        expected = render_template_string(OLD_STATUS, r=next(iter(rows)))
    assert "text-bg-danger" in expected
    assert text.count(expected) == db.session.query(Reminder).filter_by(
        enterprise_id=firm.id).count()
