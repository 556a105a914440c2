"""The API docs page renders the operations in Chromium with no request leaving the app."""

from __future__ import annotations

from urllib.parse import urlsplit

import pytest

from tests.browser_support import launch_chromium, serve_demo

pytestmark = [pytest.mark.browser, pytest.mark.live]


@pytest.fixture(scope="module")
def live_server(tmp_path_factory):
    """Demo data on a live server."""
    folder = tmp_path_factory.mktemp("api-docs")
    with serve_demo(folder, n_enterprises=4, UPLOAD_DIR=str(folder / "uploads"),
                    MAIL_DIR=str(folder / "mail")) as served:
        yield served


def test_the_docs_page_renders_offline_under_the_csp(live_server):
    _app, base = live_server
    origin = urlsplit(base).netloc
    with launch_chromium() as browser:
        context = browser.new_context()
        page = context.new_page()
        outside, problems = [], []
        page.on("request", lambda request: outside.append(request.url)
                if urlsplit(request.url).netloc not in (origin, "") and
                not request.url.startswith("data:") else None)
        page.on("console", lambda message: problems.append(message.text)
                if "Content Security Policy" in message.text or message.type == "error"
                else None)
        page.on("pageerror", lambda error: problems.append(str(error)))
        page.goto(f"{base}/api/v1/docs")
        page.wait_for_selector(".opblock-summary-path", timeout=20_000)
        text = page.inner_text("#swagger-ui")
        assert "/api/v1/incubation/tenant-reports" in text
        assert "Innovation Pipeline Tracker API" in text
        page.wait_for_timeout(500)
        context.close()
    assert outside == [], outside
    assert problems == [], problems
