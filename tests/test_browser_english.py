"""Every main page of every role, rendered in English in a real Chromium, reads in English.

How data is told apart from interface text is documented in tests/english_scan.py: stored
values (firm names, addresses, people's names …) are blanked out of each text node, then
official document numbers and 《titles》; any Chinese character or Chinese punctuation left
is a message that missed the catalogue. The dashboard's body is rebuilt elsewhere and is not
scanned; its navigation bar is (the navbar check below), at the 1366 px laptop width.
"""

from __future__ import annotations

import pytest

from tests.browser_support import serve_demo_in, switch_to_english
from tests.english_pages import pages_for
from tests.english_scan import stored_strings, untranslated
from tracker.accounts.demo import DEMO_USERS

pytestmark = [pytest.mark.browser, pytest.mark.live]

#: text nodes (outside scripts and styles) and the attributes people read
TEXTS_JS = """() => {
  const out = [];
  const walker = document.createTreeWalker(document.body, NodeFilter.SHOW_TEXT);
  while (walker.nextNode()) {
    const node = walker.currentNode;
    const tag = node.parentElement && node.parentElement.tagName;
    if (tag === 'SCRIPT' || tag === 'STYLE' || tag === 'TEXTAREA') continue;
    if (node.textContent.trim()) out.push(node.textContent);
  }
  for (const el of document.querySelectorAll('[placeholder],[title],[aria-label]')) {
    for (const name of ['placeholder', 'title', 'aria-label']) {
      const value = el.getAttribute(name);
      if (value) out.push(value);
    }
  }
  return out;
}"""


#: width the navbar must keep free for a compact search box
SEARCH_BOX_PX = 220


@pytest.fixture(scope="module")
def live_server(tmp_path_factory):
    """The demo on a live server."""
    with serve_demo_in(tmp_path_factory, "english") as served:
        yield served


def _english_page(signed_in, base: str, email: str, width: int = 1366):
    page = signed_in(base, email, viewport={"width": width, "height": 900})
    switch_to_english(page)
    return page


@pytest.mark.parametrize(("email", "role"),
                         [(email, role) for email, _n, role, _z in DEMO_USERS])
def test_every_main_page_reads_in_english(live_server, signed_in, email, role):
    app, base = live_server
    with app.app_context():
        urls = pages_for(role)
        stored = stored_strings()
    page = _english_page(signed_in, base, email)
    found = {}
    for url in urls:
        response = page.goto(base + url)
        assert response is not None and response.status == 200, url
        assert page.locator("html").get_attribute("lang") == "en", url
        left = untranslated(page.evaluate(TEXTS_JS), stored)
        if left:
            found[url] = sorted(set(left))
    assert not found, found


@pytest.mark.parametrize("email", ["admin@demo.binhai", "bureau@demo.binhai"])
def test_english_navbar_fits_one_line_at_1366(live_server, signed_in, email):
    _app, base = live_server
    page = _english_page(signed_in, base, email)
    tops = page.evaluate("""() => [...document.querySelectorAll(
        'nav.navbar .navbar-nav .nav-link, nav.navbar .navbar-brand, nav.navbar form button')]
        .map(el => Math.round(el.getBoundingClientRect().top))""")
    heights = page.evaluate("() => document.querySelector('nav.navbar').offsetHeight")
    assert max(tops) - min(tops) <= 8 and heights <= 64, (tops, heights)
    # room for the navbar search box (another change adds one): free width in the bar
    spare = page.evaluate("""() => {
        const links = [...document.querySelectorAll('nav.navbar .navbar-nav .nav-link')];
        const right = Math.max(...links.map(el => el.getBoundingClientRect().right));
        const after = document.querySelector('nav.navbar .navbar-text');
        return after.getBoundingClientRect().left - right;
    }""")
    assert spare >= SEARCH_BOX_PX, spare
