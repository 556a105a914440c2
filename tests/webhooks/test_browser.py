"""In Chromium, under the CSP: register an endpoint, see the secret once, test, resend, delete."""

from __future__ import annotations

import pytest
from sqlalchemy import select

from tests.browser_support import serve_demo
from tests.webhooks.conftest import Receiver
from tracker.extensions import db
from tracker.webhooks import tasks
from tracker.webhooks.models import WebhookDelivery, WebhookEndpoint

pytestmark = [pytest.mark.browser, pytest.mark.live]


def test_an_admin_registers_tests_resends_and_deletes_an_endpoint(tmp_path, signed_in):
    with serve_demo(tmp_path, n_enterprises=6, UPLOAD_DIR=str(tmp_path / "uploads"),
                    MAIL_DIR=str(tmp_path / "mail")) as (app, base), \
            Receiver() as receiver:
        page = signed_in(base, "admin@demo.binhai", watch={})
        page.goto(f"{base}/admin/webhooks/")
        page.click("text=新增接收端")
        page.fill("input[name=url]", receiver.url)
        page.fill("input[name=description]", "孵化器系统")
        page.check("input[value='qualification.granted']")
        page.click("button[type=submit]:has-text('保存')")
        secret = page.inner_text("#webhook-secret").strip()
        assert secret.startswith("whsec_")
        receiver.secret = secret
        page.click("text=查看投递记录")
        assert secret not in page.content()

        page.click("button:has-text('发送测试事件')")
        page.wait_for_load_state()
        with app.app_context():
            delivery_id = db.session.scalar(select(WebhookDelivery.id))
            assert tasks.deliver(delivery_id) == "delivered"  # what the worker runs
            db.session.remove()
        assert receiver.accepted and receiver.accepted[0].json["type"] == "webhook.test"
        page.reload()
        assert "已送达" in page.inner_text("#deliveries")

        asked: list[str] = []
        page.once("dialog", lambda d: (asked.append(d.message), d.dismiss()))
        page.click("button:has-text('重新发送')")
        page.wait_for_timeout(300)
        assert asked and "尝试次数清零" in asked[0]
        with app.app_context():
            assert db.session.get(WebhookDelivery, delivery_id).status == "delivered"
            db.session.remove()
        page.once("dialog", lambda d: d.accept())
        page.click("button:has-text('重新发送')")
        page.wait_for_load_state()
        with app.app_context():
            row = db.session.get(WebhookDelivery, delivery_id)
            assert (row.status, row.attempts) == ("pending", 0)
            endpoint_id = row.endpoint_id
            db.session.remove()

        page.goto(f"{base}/admin/webhooks/{endpoint_id}/edit")
        page.check("#confirm")
        page.once("dialog", lambda d: d.dismiss())
        page.click("button:has-text('删除')")
        page.wait_for_timeout(300)
        with app.app_context():
            assert db.session.get(WebhookEndpoint, endpoint_id) is not None
            db.session.remove()
        page.once("dialog", lambda d: d.accept())
        page.click("button:has-text('删除')")
        page.wait_for_load_state()
        with app.app_context():
            assert db.session.get(WebhookEndpoint, endpoint_id) is None
            db.session.remove()
        assert page.problems == []
