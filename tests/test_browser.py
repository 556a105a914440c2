"""Key pages in a real Chromium (Debian's), driven by Playwright against a live server."""

from __future__ import annotations

import pytest

from tests.browser_support import serve_demo
from tracker.enterprises.models import Enterprise
from tracker.extensions import db

pytestmark = [pytest.mark.browser, pytest.mark.live]


@pytest.fixture(scope="module")
def live_server(tmp_path_factory):
    """The app with demo data in a SQLite file, served on a free loopback port."""
    with serve_demo(tmp_path_factory.mktemp("live")) as served:
        yield served


def test_officer_finds_edits_and_sees_history(live_server, signed_in, tmp_path):
    app, base = live_server
    with app.app_context():
        firm = db.session.scalars(db.select(Enterprise).order_by(Enterprise.id)).first()
        fragment = firm.name[2:6]
    page = signed_in(base, "bureau@demo.binhai")
    page.click("text=企业")
    page.fill("main input[name=q]", fragment)
    page.click("button:has-text('查询')")
    page.click(f"a:has-text('{firm.name}')")
    page.click("a:has-text('编辑')")
    page.fill("input[name=street]", "新河街道")
    page.click("button:has-text('保存')")
    assert "已保存" in page.content()
    page.click("a:has-text('修改历史')")
    history = page.content()
    assert "新河街道" in history
    page.screenshot(path=str(tmp_path / "history.png"), full_page=True)


def test_zone_officer_cannot_open_another_zone_by_url(live_server, signed_in):
    app, base = live_server
    with app.app_context():
        other = db.session.scalars(
            db.select(Enterprise).where(Enterprise.zone != "hitech")
        ).first()
        own = db.session.scalars(
            db.select(Enterprise).where(Enterprise.zone == "hitech")
        ).first()
    page = signed_in(base, "zone@demo.binhai")
    response = page.goto(f"{base}/enterprises/{other.id}")
    assert response.status == 404
    assert "无权查看" in page.content()
    response = page.goto(f"{base}/enterprises/{own.id}")
    assert response.status == 200


def test_language_switch_to_english(live_server, signed_in):
    _, base = live_server
    page = signed_in(base, "viewer@demo.binhai")
    page.click("button:has-text('English')")
    page.goto(f"{base}/enterprises/")
    assert "Enterprises" in page.content()
