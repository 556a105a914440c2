"""Under the strict Content-Security-Policy, confirm dialogs still ask, and cancelling stops.

The handlers live in tracker.js now (data-confirm); any CSP violation Chromium reports on the
console fails the test, so a template that slips an inline handler back in is caught here too.
"""

from __future__ import annotations

import pytest
from sqlalchemy import select

from tests.browser_support import serve_demo_in
from tracker.enterprises.models import Contact
from tracker.extensions import db
from tracker.incubation.models import StatusProposal

pytestmark = [pytest.mark.browser, pytest.mark.live]


@pytest.fixture(scope="module")
def live_server(tmp_path_factory):
    """Demo data on a live server."""
    with serve_demo_in(tmp_path_factory, "csp") as served:
        yield served


@pytest.fixture
def bureau_page(signed_in, live_server):
    """A page signed in as the bureau, recording CSP violations from the console."""
    _app, base = live_server
    return signed_in(base, "bureau@demo.binhai", watch={})


def test_cancelling_a_confirm_does_not_submit(live_server, bureau_page):
    app, base = live_server
    page = bureau_page
    with app.app_context():
        proposal = db.session.scalars(select(StatusProposal)
                                      .where(StatusProposal.status == "pending")
                                      .order_by(StatusProposal.id)).first()
        contact = db.session.scalars(select(Contact).order_by(Contact.id)).first()
        proposal_id, contact_id, firm_id = proposal.id, contact.id, contact.enterprise_id

    # A button asking before its click (approve a proposal): dismissed, nothing happens.
    page.goto(f"{base}/incubation/proposals/{proposal_id}")
    asked = []
    page.once("dialog", lambda dialog: (asked.append(dialog.message), dialog.dismiss()))
    page.click("button:has-text('批准')")
    page.wait_for_timeout(500)
    assert asked and "批准后状态将立即变更" in asked[0]
    assert page.url == f"{base}/incubation/proposals/{proposal_id}"
    with app.app_context():
        assert db.session.get(StatusProposal, proposal_id).status == "pending"

    # A form asking before it submits (delete a contact): dismissed, then accepted.
    page.goto(f"{base}/enterprises/{firm_id}/contacts/{contact_id}")
    asked.clear()
    page.once("dialog", lambda dialog: (asked.append(dialog.message), dialog.dismiss()))
    page.click("form[data-confirm] button[type=submit]")
    page.wait_for_timeout(500)
    assert asked == ["确定删除该联系人？"]
    with app.app_context():
        assert db.session.get(Contact, contact_id) is not None
    page.once("dialog", lambda dialog: dialog.accept())
    page.click("form[data-confirm] button[type=submit]")
    page.wait_for_load_state()
    with app.app_context():
        assert db.session.get(Contact, contact_id) is None

    assert page.problems == []


def test_the_console_watch_sees_a_violation(live_server, bureau_page):
    """The control: an inline handler injected into a page is refused and reported."""
    _app, base = live_server
    page = bureau_page
    page.goto(f"{base}/")
    page.evaluate("""document.body.insertAdjacentHTML(
        'beforeend', '<img src="/static/none.png" onerror="window.ran = 1">')""")
    page.wait_for_timeout(500)
    assert page.evaluate("window.ran") is None
    assert any("inline event handler" in text for text in page.problems), page.problems
