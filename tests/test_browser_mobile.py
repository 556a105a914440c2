"""Phones: every main page of every role at 390×844 fits the screen, names stay readable.

Each role signs in and walks the pages its navigation and their links lead to (one page per
route, the first link found), so a new page is scanned without being listed here.
"""

from __future__ import annotations

import re
from urllib.parse import urlsplit

import pytest

from tests.browser_support import serve_demo

pytestmark = [pytest.mark.browser, pytest.mark.live]

PHONE = {"width": 390, "height": 844}
ROLES = ["admin@demo.binhai", "bureau@demo.binhai", "zone@demo.binhai",
         "incubator@demo.binhai", "viewer@demo.binhai"]
#: links that are not pages (downloads, feeds, one-off tokens) or that end the session
SKIP = re.compile(r"\.(xlsx|csv|ics|json)$|/file$|/evidence$|/logout|/unsubscribe/|/reset/"
                  r"|^/imports/export/.|/reminders/export")
#: pages scanned per role at most (one per route)
MAX_PAGES = 60

#: JavaScript measuring what a person sees: the page's width, and text cells squeezed so
#: narrow that a name breaks every character or two
MEASURE = """() => {
  const narrow = [];
  for (const cell of document.querySelectorAll('main td, main th, main .card-body')) {
    const text = (cell.innerText || '').trim();
    const box = cell.getBoundingClientRect();
    if (!text || box.width === 0 || getComputedStyle(cell).visibility === 'hidden') continue;
    const em = parseFloat(getComputedStyle(cell).fontSize);
    if (text.length >= 4 && box.width < 3 * em)
      narrow.push(text.slice(0, 20) + ' @' + Math.round(box.width) + 'px');
  }
  for (const el of document.querySelectorAll('main a, main .btn')) {
    const text = (el.innerText || '').trim();
    const box = el.getBoundingClientRect();
    if (text.length < 2 || text.length > 12 || box.width === 0) continue;
    const style = getComputedStyle(el);
    const em = parseFloat(style.fontSize);
    const line = parseFloat(style.lineHeight) || 1.5 * em;
    const inner = box.height - parseFloat(style.paddingTop) - parseFloat(style.paddingBottom)
      - parseFloat(style.borderTopWidth) - parseFloat(style.borderBottomWidth);
    // a short label (a button, a tab, an action link) broken over lines; buttons and tabs
    // are padded, so their text's own height is what tells
    const padded = el.classList.contains('btn') || el.classList.contains('nav-link');
    if (padded ? inner > 1.5 * line : box.height > 2.2 * em)
      narrow.push(text.slice(0, 20) + ' @' + Math.round(box.width) + 'x' + Math.round(box.height));
  }
  return {scroll: document.documentElement.scrollWidth, inner: window.innerWidth, narrow: narrow};
}"""


@pytest.fixture(scope="module")
def live_server(tmp_path_factory):
    """The app with demo data in a SQLite file, served on a free loopback port."""
    with serve_demo(tmp_path_factory.mktemp("mobile")) as served:
        yield served


def _route(path: str) -> str:
    """The route a path belongs to (ids replaced), so each page kind is scanned once."""
    return re.sub(r"/\d+", "/N", path)


def _walk(page, base: str) -> list[tuple[str, dict]]:
    """Visit the pages reachable from the dashboard, one per route; measure each."""
    seen_routes: set[str] = set()
    queue = ["/"]
    measured = []
    while queue and len(measured) < MAX_PAGES:
        path = queue.pop(0)
        route = _route(urlsplit(path).path)
        if route in seen_routes:
            continue
        seen_routes.add(route)
        try:
            response = page.goto(base + path)
        except Exception as error:  # a link that turned out to be a download
            if "Download is starting" in str(error):
                continue
            raise
        if response is None or response.status != 200 or \
                "text/html" not in (response.headers.get("content-type") or ""):
            continue
        measured.append((path, page.evaluate(MEASURE)))
        for href in page.eval_on_selector_all(
                "a[href]", "els => els.map(e => e.getAttribute('href'))"):
            parts = urlsplit(href)
            if parts.netloc or not parts.path.startswith("/") or SKIP.search(parts.path):
                continue
            target = parts.path + (f"?{parts.query}" if parts.query else "")
            if _route(parts.path) not in seen_routes:
                queue.append(target)
    return measured


@pytest.mark.parametrize("email", ROLES)
def test_every_page_fits_a_phone(live_server, signed_in, email):
    _, base = live_server
    page = signed_in(base, email, viewport=PHONE)
    measured = _walk(page, base)
    assert len(measured) >= 5, measured  # the walk reached the role's pages
    wide = [(path, m["scroll"]) for path, m in measured if m["scroll"] > m["inner"]]
    squeezed = [(path, m["narrow"][:3]) for path, m in measured if m["narrow"]]
    assert not wide, f"pages wider than the {PHONE['width']} px screen: {wide}"
    assert not squeezed, f"text squeezed to a character or two per line: {squeezed}"


def test_enterprise_list_stacks_as_cards(live_server, signed_in):
    _, base = live_server
    page = signed_in(base, "bureau@demo.binhai", viewport=PHONE)
    page.goto(f"{base}/enterprises/")
    name_cell = page.locator("#enterprise-list tbody tr td.cell-name").first
    box = name_cell.bounding_box()
    assert box["width"] > 300  # the name spans the card, not one character per line
    assert page.locator("#enterprise-list thead").is_hidden()
    label = name_cell.evaluate("td => getComputedStyle(td, '::before').content")
    assert "企业名称" in label


def _search(page, text: str) -> None:
    """Type into the navbar's search box and submit it (Enter, as a person would)."""
    box = page.locator("nav input[name=q]")
    if not box.is_visible():  # on a phone the box sits in the collapsed menu
        page.click("button.navbar-toggler")
        box.wait_for(state="visible")
    box.fill(text)
    box.press("Enter")
    page.wait_for_url("**/search/**")


@pytest.mark.parametrize("viewport", [PHONE, {"width": 1366, "height": 800}])
def test_navbar_search_finds_a_demo_firm(live_server, signed_in, viewport):
    app, base = live_server
    with app.app_context():
        from tracker.enterprises.models import Enterprise
        from tracker.extensions import db

        beiyang = db.session.scalar(db.select(Enterprise).where(
            Enterprise.name == "天津北洋能源科技有限公司"))
        numbered = db.session.scalar(db.select(Enterprise).where(
            Enterprise.name.like("天津__01%")))
    page = signed_in(base, "bureau@demo.binhai", viewport=viewport)
    page.goto(f"{base}/enterprises/")
    _search(page, "tjbyny")  # pinyin initials
    assert page.locator("#search-firms").get_by_text("天津北洋能源科技有限公司").is_visible()
    full_width = numbered.name[2:4] + "０１"  # e.g. 海河０１ finds 天津海河01…
    _search(page, full_width)
    assert page.locator("#search-firms").get_by_text(numbered.name).is_visible()
    _search(page, beiyang.uscc[:-1])  # USCC prefix
    assert page.locator("#search-firms").get_by_text("天津北洋能源科技有限公司").is_visible()
    page.locator("#search-firms").get_by_text("天津北洋能源科技有限公司").click()
    page.wait_for_url(f"**/enterprises/{beiyang.id}")
    if viewport is PHONE:
        assert page.evaluate("document.documentElement.scrollWidth <= innerWidth")


def test_navbar_search_works_without_javascript(live_server, signed_in):
    _, base = live_server
    page = signed_in(base, "bureau@demo.binhai", viewport={"width": 1366, "height": 800},
                     java_script_enabled=False)
    box = page.locator("nav input[name=q]")
    box.fill("tjbyny")
    box.press("Enter")
    page.wait_for_url("**/search/?q=tjbyny")
    assert page.locator("#search-firms").get_by_text("天津北洋能源科技有限公司").is_visible()
