"""The indicator pages: who reads and who edits, validation, audit history, stale edits."""

from __future__ import annotations

from datetime import date
from decimal import Decimal

import pytest
from sqlalchemy import select

from tests.conftest import csrf_token, login
from tests.factories import make_user
from tracker.audit.models import AuditEvent
from tracker.clock import frozen
from tracker.extensions import db
from tracker.indicators.models import IndicatorValue

DAY = date(2026, 12, 1)


@pytest.fixture(autouse=True)
def _today():
    """Every request of these tests happens on 1 December 2026."""
    with frozen(DAY):
        yield


def _values_url(plan, indicator="rd_intensity", period="14th"):
    return (f"/dashboard/indicators/{plan.indicators[indicator].id}"
            f"/periods/{plan.periods[period].id}/values")


def _post(client, url, **data):
    return client.post(url, data={"csrf_token": csrf_token(client, url), **data})


def _events(entity_type, entity_id):
    return db.session.scalars(select(AuditEvent).where(
        AuditEvent.entity_type == entity_type, AuditEvent.entity_id == entity_id)
        .order_by(AuditEvent.id)).all()


def test_the_page_shows_the_current_period_and_a_past_one_on_request(client, plan):
    login(client, make_user("viewer"))
    html = client.get("/dashboard/indicators").get_data(as_text=True)
    assert "“十五五”（2026–2030）" in html and "目标未确认：尚未记录依据文件" in html
    past = client.get(f"/dashboard/indicators?period={plan.periods['14th'].id}")
    text = past.get_data(as_text=True)
    assert "已结束：显示期末（2025年）最终结果" in text and "5,800" in text and "3,270" in text
    assert "滨海新区科技创新“十四五”规划" in text
    assert "hnte" not in text.replace('data-indicator="hnte"', "")  # no raw codes shown
    assert "录入与历史" not in text  # a viewer reads history, enters nothing
    # an unknown period falls back to the current one
    assert "十五五" in client.get("/dashboard/indicators?period=999").get_data(as_text=True)


def test_an_empty_installation_says_how_to_start(client):
    login(client, make_user("bureau"))
    html = client.get("/dashboard/indicators").get_data(as_text=True)
    assert "flask indicators seed" in html


@pytest.mark.parametrize(("role", "read", "edit"), [
    ("admin", 200, 302), ("bureau", 200, 302), ("viewer", 200, 403), ("zone", 200, 403),
    ("carrier_manager", 403, 403),
])
def test_roles(client, plan, role, read, edit):
    login(client, make_user(role))
    assert client.get("/dashboard/indicators").status_code == read
    url = _values_url(plan)
    answer = client.post(url, data={"csrf_token": csrf_token(client, "/accounts/me")
                                    if read == 403 else csrf_token(client, url),
                                    "year": "2025", "value": "3.5", "source": "统计公报"})
    assert answer.status_code == edit
    stored = db.session.scalar(select(IndicatorValue))
    assert (stored is not None) == (edit == 302)


def test_anonymous_is_sent_to_login(client, plan):
    answer = client.get("/dashboard/indicators")
    assert answer.status_code == 302 and "/login" in answer.headers["Location"]


def test_a_figure_is_entered_with_its_source_and_who_entered_it_audited(client, plan):
    staff = make_user("bureau", name="统计员甲")
    login(client, staff)
    url = _values_url(plan)
    answer = _post(client, url, year="2025", value="3.51", source="2025年统计公报")
    assert answer.status_code == 302
    row = db.session.scalar(select(IndicatorValue))
    assert (row.year, row.value, row.source, row.entered_by_id) == (
        2025, Decimal("3.51"), "2025年统计公报", staff.id)
    [event] = _events("indicator_value", row.id)
    assert (event.action, event.actor_id) == ("create", staff.id)
    assert event.changes["value"] == [None, "3.51"]
    page = client.get(url).get_data(as_text=True)
    assert "2025年统计公报" in page and "统计员甲" in page and "修改历史" in page


@pytest.mark.parametrize(("indicator", "year", "value", "source", "field", "message"), [
    ("rd_intensity", "2025", "abc", "公报", "value", "请填写数字"),
    ("rd_intensity", "2025", "120", "公报", "value", "百分比应在 0–100 之间"),
    ("rd_intensity", "2025", "-1", "公报", "value", "数值应在"),
    ("rd_intensity", "2025", "3.456", "公报", "value", "最多保留 2 位小数"),
    ("rd_centres", "2025", "12.5", "公报", "value", "应为整数"),
    ("rd_centres", "2020", "500", "公报", "year", "年度应在 2021–2025 之间"),
    ("rd_centres", "2025", "500", "", "source", "请填写来源"),
])
def test_figures_are_validated(client, plan, indicator, year, value, source, field, message):
    login(client, make_user("bureau"))
    answer = _post(client, _values_url(plan, indicator), year=year, value=value, source=source)
    assert answer.status_code == 400
    assert message in answer.get_data(as_text=True)
    assert db.session.scalar(select(IndicatorValue)) is None


def test_a_year_after_this_one_is_refused(client, plan):
    login(client, make_user("bureau"))
    answer = _post(client, _values_url(plan, period="15th"), year="2027", value="3",
                   source="预测")
    assert answer.status_code == 400 and "年度应在 2026–2026 之间" in answer.get_data(as_text=True)


def test_a_second_figure_for_the_same_year_is_a_correction_not_a_duplicate(client, plan):
    login(client, make_user("bureau"))
    url = _values_url(plan)
    assert _post(client, url, year="2024", value="3.4", source="公报").status_code == 302
    again = _post(client, url, year="2024", value="3.5", source="公报")
    assert again.status_code == 400 and "2024年已有数值" in again.get_data(as_text=True)


def test_a_computed_indicator_takes_no_entries(client, plan):
    login(client, make_user("bureau"))
    answer = _post(client, _values_url(plan, "hnte"), year="2025", value="5000", source="x")
    assert answer.status_code == 400
    assert db.session.scalar(select(IndicatorValue)) is None


def test_a_correction_is_audited_and_a_stale_one_refused(app, client, plan):
    first, second = make_user("bureau"), make_user("admin")
    login(client, first)
    _post(client, _values_url(plan), year="2025", value="3.5", source="快报")
    row = db.session.scalar(select(IndicatorValue))
    edit = f"/dashboard/indicators/values/{row.id}/edit"
    form = client.get(edit).get_data(as_text=True)
    assert 'value="3.5"' in form and "确认修改该数值" in form
    client = app.test_client()
    login(client, second)
    answer = _post(client, edit, year="2025", value="3.52", source="年鉴", version="1")
    assert answer.status_code == 302
    db.session.refresh(row)
    assert (row.value, row.source, row.entered_by_id, row.version) == (
        Decimal("3.52"), "年鉴", second.id, 2)
    update = _events("indicator_value", row.id)[-1]
    assert update.action == "update" and update.actor_id == second.id
    assert update.changes == {"value": ["3.5", "3.52"], "source": ["快报", "年鉴"]}
    stale = _post(client, edit, year="2025", value="9", source="旧页面", version="1")
    assert stale.status_code == 409
    db.session.refresh(row)
    assert row.value == Decimal("3.52")


def test_admins_enter_next_period_targets_audited(client, plan):
    admin = make_user("admin")
    login(client, admin)
    target = plan.target("15th", "hnte")
    url = f"/dashboard/indicators/targets/{target.id}"
    answer = _post(client, url, target="8000", baseline="5200", target_note="", version="1")
    assert answer.status_code == 302
    db.session.refresh(target)
    assert (target.target, target.baseline) == (Decimal(8000), Decimal(5200))
    [event] = _events("plan_target", target.id)
    assert event.changes == {"target": [None, "8000"], "baseline": [None, "5200"]}
    html = client.get(f"/dashboard/indicators?period={plan.periods['15th'].id}")
    assert "8,000" in html.get_data(as_text=True)
    refused = _post(client, url, target="12.5", version="2")
    assert refused.status_code == 400 and "应为整数" in refused.get_data(as_text=True)


def test_a_closed_period_keeps_its_targets(client, plan):
    login(client, make_user("admin"))
    target = plan.target("14th", "hnte")
    answer = _post(client, f"/dashboard/indicators/targets/{target.id}", target="1",
                   version="1")
    assert answer.status_code == 400
    db.session.refresh(target)
    assert target.target == Decimal(5800) and not _events("plan_target", target.id)


def test_recording_the_source_confirms_the_period(client, plan):
    login(client, make_user("bureau"))
    period = plan.periods["15th"]
    url = f"/dashboard/indicators/periods/{period.id}/source"
    missing = _post(client, url, source_title="", source_date="", version="1")
    assert missing.status_code == 400 and not period.confirmed
    answer = _post(client, url, source_title="滨海新区科技创新“十五五”规划",
                   source_number="津滨政发〔2026〕1号", source_date="2026-10-20", version="1")
    assert answer.status_code == 302
    db.session.refresh(period)
    assert period.confirmed and period.source_number == "津滨政发〔2026〕1号"
    assert _events("plan_period", period.id)[0].changes["source_date"] == [None, "2026-10-20"]
    html = client.get("/dashboard/indicators").get_data(as_text=True)
    assert "目标未确认" not in html and "津滨政发〔2026〕1号" in html


def test_the_page_in_english(client, plan):
    login(client, make_user("viewer", locale="en"))
    html = client.get(f"/dashboard/indicators?period={plan.periods['14th'].id}")
    text = html.get_data(as_text=True)
    assert html.status_code == 200
    assert "Plan indicators" in text and "National high-tech enterprise" in text
    assert "stable at 8%" in text and "Independent innovation capability" in text


def test_the_next_period_baseline_is_offered_from_the_last_final_figure(client, plan):
    staff = make_user("bureau")
    login(client, staff)
    _post(client, _values_url(plan, "rd_centres"), year="2025", value="540", source="年报")
    target = plan.target("15th", "rd_centres")
    form = client.get(f"/dashboard/indicators/targets/{target.id}").get_data(as_text=True)
    assert "上一规划期期末（2025年）数值：540" in form
    assert 'name="baseline" type="text" value="540"' in form
    # a figure of an earlier year is no end-of-period figure
    target = plan.target("15th", "new_rd_institutions")
    _post(client, _values_url(plan, "new_rd_institutions"), year="2024", value="11",
          source="年报")
    form = client.get(f"/dashboard/indicators/targets/{target.id}").get_data(as_text=True)
    assert "上一规划期期末" not in form
