"""In Chromium: tick two firms on the list and run a bulk action; merge two records and undo."""

from __future__ import annotations

import pytest
from sqlalchemy import select

from tests.browser_support import serve_demo
from tracker.bulk.models import MergeRecord
from tracker.enterprises import services as enterprises
from tracker.enterprises.models import Enterprise
from tracker.enterprises.uscc import make_code
from tracker.extensions import db

pytestmark = [pytest.mark.browser, pytest.mark.live]


@pytest.fixture(scope="module")
def live_server(tmp_path_factory):
    """Demo data on a live server, plus a second record of one demo firm."""
    folder = tmp_path_factory.mktemp("bulk")
    with serve_demo(folder, n_enterprises=12) as (app, base):
        with app.app_context():
            first = db.session.scalar(select(Enterprise).where(Enterprise.status == "active")
                                      .order_by(Enterprise.id))
            enterprises.create_enterprise({
                "uscc": make_code(777001), "zone": first.zone,
                "name": first.name.replace("有限公司", " 有限责任公司")})
            db.session.commit()
        yield app, base


@pytest.fixture
def page(signed_in, live_server):
    """A bureau user's page in a context of its own."""
    tab = signed_in(live_server[1], "bureau@demo.binhai", accept_downloads=True)
    tab.on("dialog", lambda dialog: dialog.accept())  # the data-confirm questions
    return tab


def test_tick_two_firms_and_archive_them(page, live_server):
    app, base = live_server
    page.goto(f"{base}/enterprises/")
    boxes = page.locator('input[name="ids"][form="bulk-form"]')
    boxes.nth(0).check()
    boxes.nth(1).check()
    page.click('#bulk-form button[value="archive"]')
    page.wait_for_selector(".alert-success")
    assert "已归档 2 家企业" in page.inner_text(".alert-success")
    page.check('input[data-select-all="bulk-form"]')  # select all on this page
    assert boxes.count() > 2
    assert all(boxes.nth(i).is_checked() for i in range(boxes.count()))


def test_merge_two_records_in_the_browser_and_undo(page, live_server):
    app, base = live_server
    page.goto(f"{base}/bulk/duplicates")
    page.click("text=比较并合并")
    page.wait_for_selector("#merge-form")
    page.click('#merge-form button[type="submit"]')
    page.wait_for_selector(".alert-success")
    assert "已合并" in page.inner_text(".alert-success")
    page.click('button:has-text("撤销合并")')
    page.wait_for_selector(".alert-success")
    assert "已撤销合并" in page.inner_text(".alert-success")
    with app.app_context():
        record = db.session.scalar(select(MergeRecord))
        assert record.undone_at is not None


def test_dismissing_the_question_archives_nothing(signed_in, live_server):
    app, base = live_server
    tab = signed_in(base, "bureau@demo.binhai")
    asked = []
    tab.on("dialog", lambda dialog: (asked.append(dialog.message), dialog.dismiss()))
    tab.goto(f"{base}/enterprises/")
    first = tab.locator('input[name="ids"][form="bulk-form"]').nth(0)
    firm_id = int(first.get_attribute("value"))
    first.check()
    tab.click('#bulk-form button[value="archive"]')
    tab.wait_for_timeout(300)
    assert asked and "归档" in asked[0]
    with app.app_context():
        assert db.session.get(Enterprise, firm_id).status == "active"
