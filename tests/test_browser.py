"""Key pages in a real Chromium (Debian's), driven by Playwright against a live server."""

from __future__ import annotations

import shutil
import threading

import pytest
from werkzeug.serving import make_server

from config import TestConfig
from tests.conftest import IN_CI
from tracker import create_app
from tracker.demo import DEMO_PASSWORD, load_demo
from tracker.enterprises.models import Enterprise
from tracker.extensions import db

pytestmark = [pytest.mark.browser, pytest.mark.live]

CHROMIUM = shutil.which("chromium") or shutil.which("chromium-browser")
CHROMIUM_FLAGS = [
    "--headless", "--no-sandbox", "--disable-gpu", "--disable-quic", "--no-first-run",
    "--disable-background-networking", "--disable-component-update", "--disable-sync",
]


@pytest.fixture(scope="module")
def live_server(tmp_path_factory):
    """The app with demo data in a SQLite file, served on a free loopback port."""
    if CHROMIUM is None:
        if IN_CI:
            pytest.fail("chromium is required under CI")
        pytest.skip("chromium is not installed")
    folder = tmp_path_factory.mktemp("live")

    class LiveConfig(TestConfig):
        SQLALCHEMY_DATABASE_URI = f"sqlite:///{folder / 'live.db'}"
        SERVER_NAME = None

    app = create_app(LiveConfig)
    with app.app_context():
        db.create_all()
        load_demo(24)
        db.session.commit()
    server = make_server("127.0.0.1", 0, app, threaded=True)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    yield app, f"http://127.0.0.1:{server.server_port}"
    server.shutdown()
    with app.app_context():
        db.engine.dispose()


@pytest.fixture(scope="module")
def browser():
    """A headless Debian Chromium."""
    from playwright.sync_api import sync_playwright

    with sync_playwright() as p:
        instance = p.chromium.launch(executable_path=CHROMIUM, args=CHROMIUM_FLAGS)
        yield instance
        instance.close()


def _login(page, base, email):
    page.goto(f"{base}/login")
    page.fill("input[name=email]", email)
    page.fill("input[name=password]", DEMO_PASSWORD)
    page.click("button[type=submit]")
    page.wait_for_url(f"{base}/")


def test_officer_finds_edits_and_sees_history(live_server, browser, tmp_path):
    app, base = live_server
    with app.app_context():
        firm = db.session.scalars(db.select(Enterprise).order_by(Enterprise.id)).first()
        fragment = firm.name[2:6]
    page = browser.new_page()
    _login(page, base, "bureau@demo.binhai")
    page.click("text=企业")
    page.fill("input[name=q]", fragment)
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
    page.close()


def test_zone_officer_cannot_open_another_zone_by_url(live_server, browser):
    app, base = live_server
    with app.app_context():
        other = db.session.scalars(
            db.select(Enterprise).where(Enterprise.zone != "hitech")
        ).first()
        own = db.session.scalars(
            db.select(Enterprise).where(Enterprise.zone == "hitech")
        ).first()
    page = browser.new_page()
    _login(page, base, "zone@demo.binhai")
    response = page.goto(f"{base}/enterprises/{other.id}")
    assert response.status == 404
    assert "无权查看" in page.content()
    response = page.goto(f"{base}/enterprises/{own.id}")
    assert response.status == 200
    page.close()


def test_language_switch_to_english(live_server, browser):
    _, base = live_server
    page = browser.new_page()
    _login(page, base, "viewer@demo.binhai")
    page.click("button:has-text('English')")
    page.goto(f"{base}/enterprises/")
    assert "Enterprises" in page.content()
    page.close()
