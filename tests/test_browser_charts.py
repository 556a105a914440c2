"""Issue 14 "Done means": the dashboard's charts in a real Chromium against a demo server.

A click on a bar, and on a number in a chart's table, lands on the list whose count is the
figure clicked; a zone officer's charts count only their zone; no script breaks the CSP.
"""

from __future__ import annotations

import re

import pytest

from tests.browser_support import serve_demo_in

pytestmark = [pytest.mark.browser, pytest.mark.live]


@pytest.fixture(scope="module")
def live_server(tmp_path_factory):
    """Demo data (with its back-filled months) on a live server."""
    with serve_demo_in(tmp_path_factory, "charts") as served:
        yield served


@pytest.fixture
def watched(signed_in):
    """A signed-in page whose `problems` lists console errors, failed loads and script errors."""

    return lambda base, email: signed_in(base, email, watch={
        "console_errors": True, "failed_responses": True, "page_errors": True})


def _charts_loaded(page) -> None:
    for name in ("trends", "funnel", "zones", "incubation", "workload"):
        page.wait_for_selector(f"#chart-{name}[data-loaded='1']", timeout=15000)


def _listed(page) -> int:
    text = page.locator("#result-count").inner_text()
    return int(re.search(r"([\d,]+)", text).group(1).replace(",", ""))


def test_click_a_bar_and_a_number_to_their_lists(live_server, watched):
    _app, base = live_server
    page = watched(base, "bureau@demo.binhai")
    page.goto(f"{base}/")
    _charts_loaded(page)
    # the fullest month of the expiry chart: its bar's middle, in the canvas's own pixels
    canvas = page.locator("#workload-expiring .chart-canvas")
    canvas.scroll_into_view_if_needed()
    target = page.evaluate("""() => {
        const el = document.querySelector('#workload-expiring .chart-canvas');
        const chart = echarts.getInstanceByDom(el);
        const data = chart.getOption().series[0].data;
        let best = 0;
        data.forEach((d, i) => { if (d.value > data[best].value) { best = i; } });
        const [x, y] = chart.convertToPixel({seriesIndex: 0}, [best, data[best].value / 2]);
        return {x, y, value: data[best].value, url: data[best].url};
    }""")
    assert target["value"] > 0, "the demo should have certificates expiring"
    box = canvas.bounding_box()
    page.mouse.click(box["x"] + target["x"], box["y"] + target["y"])
    page.wait_for_url(re.compile(r"/enterprises/\?expiring="))
    assert _listed(page) == target["value"]
    assert page.locator("#extra-filters").is_visible()

    # a number in the trend table: a past month-end's count of HNTE firms
    page.goto(f"{base}/")
    _charts_loaded(page)
    details = page.locator("#trend-rung details")
    details.locator("summary").click()
    link = details.locator("a[data-series='国家高新技术企业']").nth(-2)
    expected = int(link.inner_text().replace(",", ""))
    link.click()
    page.wait_for_url(re.compile(r"past_rung=hnte"))
    assert _listed(page) == expected
    assert not page.problems, page.problems


def test_zone_officer_sees_only_their_zone(live_server, watched):
    _app, base = live_server
    page = watched(base, "zone@demo.binhai")
    page.goto(f"{base}/")
    _charts_loaded(page)
    zones = page.evaluate("""() => {
        const el = document.querySelector('#zones-rung .chart-canvas');
        return echarts.getInstanceByDom(el).getOption().xAxis[0].data;
    }""")
    assert zones == ["高新区"]
    link = page.locator("#zones-rung details a").first
    page.locator("#zones-rung details summary").click()
    expected = int(link.inner_text().replace(",", ""))
    link.click()
    page.wait_for_url(re.compile(r"/enterprises/\?"))
    assert "zone=hitech" in page.url
    assert _listed(page) == expected
    assert not page.problems, page.problems


def test_every_chart_saves_as_png_and_exports_xlsx(live_server, signed_in):
    """issue 14: each chart can be saved as PNG (the toolbox's save button, offline) and its
    data downloaded as .xlsx (the link beside it)."""
    _app, base = live_server
    page = signed_in(base, "bureau@demo.binhai", accept_downloads=True)
    page.goto(f"{base}/")
    _charts_loaded(page)
    canvases = page.locator(".chart-canvas")
    assert canvases.count() >= 9
    # every drawn panel offers the PNG save
    kinds = page.evaluate("""() => Array.from(document.querySelectorAll('.chart-canvas'))
        .map(el => echarts.getInstanceByDom(el).getOption().toolbox[0].feature.saveAsImage.type)""")
    assert kinds and set(kinds) == {"png"}
    # one real click on a panel's save button: the download is a PNG image
    canvas = page.locator("#workload-expiring .chart-canvas")
    canvas.scroll_into_view_if_needed()
    box = canvas.bounding_box()
    # the save icon's middle (the chart's own toolbox geometry: its group's bounding box)
    icon = page.evaluate("""() => {
        const chart = echarts.getInstanceByDom(
            document.querySelector('#workload-expiring .chart-canvas'));
        const view = chart._componentsViews.find(v => v.type === 'toolbox');
        const r = view.group.getBoundingRect();
        const [x, y] = view.group.transformCoordToGlobal(r.x + r.width / 2, r.y + r.height / 2);
        return {x, y};
    }""")
    page.mouse.move(box["x"] + icon["x"], box["y"] + icon["y"])
    with page.expect_download() as saving:
        page.mouse.click(box["x"] + icon["x"], box["y"] + icon["y"])
    saved = saving.value
    assert saved.suggested_filename.endswith(".png")
    with open(saved.path(), "rb") as png:
        assert png.read(8) == b"\x89PNG\r\n\x1a\n"
    for name in ("trends", "funnel", "zones", "incubation", "workload"):
        with page.expect_download() as exporting:
            page.locator(f"a[href$='/dashboard/charts/{name}.xlsx']").click()
        assert exporting.value.suggested_filename.endswith(".xlsx"), name
