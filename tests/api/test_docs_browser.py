"""The API docs page renders the operations in Chromium with no request leaving the app."""

from __future__ import annotations

import pytest

from tests.browser_support import serve_demo_in

pytestmark = [pytest.mark.browser, pytest.mark.live]


@pytest.fixture(scope="module")
def live_server(tmp_path_factory):
    """Demo data on a live server."""
    with serve_demo_in(tmp_path_factory, "api-docs", n_enterprises=4) as served:
        yield served


def test_the_docs_page_renders_offline_under_the_csp(live_server, signed_in):
    _app, base = live_server
    page = signed_in(base, None, watch={  # the docs are public
        "console_errors": True, "failed_responses": True, "page_errors": True,
        "outside_of": base})
    page.goto(f"{base}/api/v1/docs")
    page.wait_for_selector(".opblock-summary-path", timeout=20_000)
    text = page.inner_text("#swagger-ui")
    assert "/api/v1/incubation/tenant-reports" in text
    assert "Innovation Pipeline Tracker API" in text
    page.wait_for_timeout(500)
    assert page.problems == [], page.problems
