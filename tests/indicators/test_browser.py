"""In Chromium: from the dashboard's plan card to the indicator page, over to the closed 十四五
and its final results, and one yearly figure entered through the confirm dialog."""

from __future__ import annotations

from datetime import date

import pytest
from sqlalchemy import select

from tests.browser_support import serve_demo_in
from tracker.accounts.models import User
from tracker.extensions import db
from tracker.indicators import services
from tracker.indicators.models import IndicatorValue, PlanIndicator

pytestmark = [pytest.mark.browser, pytest.mark.live]


@pytest.fixture(scope="module")
def live_server(tmp_path_factory):
    """Demo data (plan periods and demo figures included) on a live server."""
    with serve_demo_in(tmp_path_factory, "indicators") as served:
        yield served


@pytest.fixture
def page(live_server, signed_in):
    """A bureau user's page in a headless Chromium, recording CSP violations."""
    _app, base = live_server
    return signed_in(base, "bureau@demo.binhai", watch={})


def _cell(page, code: str, column: int) -> str:
    return page.inner_text(f"#indicators tr[data-indicator={code}] td:nth-child({column})")


def test_switching_to_the_closed_period_shows_its_final_results(live_server, page):
    app, base = live_server
    with app.app_context():
        bureau = db.session.scalar(select(User).where(User.email == "bureau@demo.binhai"))
        final_hnte = services.computed_figures(bureau, date(2025, 12, 31))["hnte"]

    page.click("#plan-card a:has-text('全部指标与往期')")
    page.wait_for_url(f"{base}/dashboard/indicators")
    assert "“十五五”" in page.inner_text("h1")
    assert "目标未确认" in page.inner_text("#period-state")

    page.select_option("#period", label="十四五（2021–2025） · 已结束")
    page.click("#period-picker button[type=submit]")
    page.wait_for_load_state()
    assert "“十四五”" in page.inner_text("h1")
    assert "已结束：显示期末（2025年）最终结果" in page.inner_text("#period-state")
    # the final figure against the target and the 2020 baseline, with the verdict
    assert _cell(page, "hnte", 3) == "3,270" and _cell(page, "hnte", 4) == "5,800"
    assert _cell(page, "hnte", 5) == f"{final_hnte:,}"
    assert "未完成" in _cell(page, "hnte", 7)
    assert _cell(page, "tech_contracts", 5).startswith("468.5")
    assert "滞后" in _cell(page, "tech_contracts", 7)  # no baseline, missed at the end
    assert page.problems == []


def test_a_figure_is_entered_after_confirming(live_server, page):
    app, base = live_server
    with app.app_context():
        centres = db.session.scalar(select(PlanIndicator).where(
            PlanIndicator.code == "rd_centres"))
        current = services.current_period()
        url = f"{base}/dashboard/indicators/{centres.id}/periods/{current.id}/values"
        centres_id = centres.id
    page.goto(url)
    page.fill("input[name=value]", "561")
    page.fill("input[name=source]", "2026年研发中心认定名单")
    asked = []
    page.once("dialog", lambda dialog: (asked.append(dialog.message), dialog.accept()))
    page.click("form[data-confirm] button[type=submit]")
    page.wait_for_selector("#values td:has-text('2026年研发中心认定名单')")
    assert asked and "确认保存该年度数值" in asked[0]
    assert "561" in page.inner_text("#values") and "新建" in page.inner_text("#history")
    with app.app_context():
        row = db.session.scalar(select(IndicatorValue).where(
            IndicatorValue.indicator_id == centres_id))
        assert (row.year, int(row.value)) == (current.start_year, 561)
    assert page.problems == []
