"""Events: what the after-save pipeline and the expiry scan record, each exactly once."""

from __future__ import annotations

from datetime import date, timedelta

from sqlalchemy import func, select

from tests.factories import make_carrier, make_enterprise, make_user
from tests.webhooks.conftest import make_endpoint
from tracker.clock import frozen
from tracker.extensions import db
from tracker.incubation import services as incubation
from tracker.ladder import services as ladder
from tracker.webhooks import events
from tracker.webhooks.models import WebhookDelivery, WebhookEvent

DAY = date(2026, 12, 1)


def _types(endpoint_id: int) -> list[str]:
    return list(db.session.scalars(
        select(WebhookEvent.type).join(WebhookDelivery, WebhookDelivery.event_id == WebhookEvent.id)
        .where(WebhookDelivery.endpoint_id == endpoint_id).order_by(WebhookEvent.id)))


def test_a_grant_and_a_revocation_are_each_one_event_with_labels():
    with frozen(DAY):
        endpoint = make_endpoint("http://127.0.0.1:9/hook")
        db.session.commit()
        firm = make_enterprise(name="天津事件科技有限公司")
        db.session.commit()
        qual = ladder.grant_qualification(firm, "hnte", "GR202512000123", date(2025, 12, 1))
        db.session.commit()
        assert _types(endpoint.id) == ["qualification.granted", "rung.changed"]
        db.session.commit()  # nothing new: nothing more
        firm.description = "edited"  # a save that changes nothing watched
        db.session.commit()
        assert len(_types(endpoint.id)) == 2
        ladder.revoke_qualification(qual, DAY, reason="撤销测试")
        db.session.commit()
    assert _types(endpoint.id) == ["qualification.granted", "rung.changed",
                                   "qualification.revoked", "rung.changed"]
    granted = db.session.scalar(select(WebhookEvent).where(
        WebhookEvent.type == "qualification.granted"))
    body = events.envelope(granted)
    assert body["type"] == "qualification.granted" and len(body["id"]) == 36
    assert body["occurred_at"].endswith("Z")
    assert body["data"]["qualification"]["kind"] == "hnte"
    assert body["data"]["qualification"]["kind_label"] == "国家高新技术企业"
    assert body["data"]["enterprise"]["name"] == "天津事件科技有限公司"
    assert body["data"]["enterprise"]["zone_label"] == "高新区"
    rung = db.session.scalars(select(WebhookEvent).where(
        WebhookEvent.type == "rung.changed").order_by(WebhookEvent.id)).all()
    assert [(e.payload["from"], e.payload["to"]) for e in rung] == [(None, "hnte"),
                                                                   ("hnte", None)]
    ids = db.session.scalars(select(WebhookEvent.public_id)).all()
    assert len(set(ids)) == len(ids)


def test_only_subscribed_types_and_only_after_the_endpoint_existed():
    with frozen(DAY):
        firm = make_enterprise()
        ladder.grant_qualification(firm, "tech_sme", "2025120000001", date(2025, 5, 1))
        db.session.commit()
    with frozen(DAY + timedelta(days=1)):
        endpoint = make_endpoint("http://127.0.0.1:9/hook", events=["application.decided"])
        db.session.commit()
        application = ladder.create_application(firm, {"kind": "hnte", "year": 2026})
        db.session.commit()
        for step in ("preparing", "submitted"):
            ladder.move_application(application, step)
            db.session.commit()
        assert _types(endpoint.id) == []
        ladder.move_application(application, "rejected")
        db.session.commit()
    assert _types(endpoint.id) == ["application.decided"]
    event = db.session.scalar(select(WebhookEvent).where(
        WebhookEvent.type == "application.decided"))
    assert event.payload["application"]["status_label"] == "未通过"


def test_a_tenancy_status_change_names_both_statuses_and_the_carrier():
    bureau = make_user("bureau")
    with frozen(DAY):
        endpoint = make_endpoint("http://127.0.0.1:9/hook", events=["tenancy.status_changed"])
        firm = make_enterprise()
        carrier = make_carrier(name="事件孵化器")
        stay = incubation.open_tenancy(firm, carrier, date(2024, 1, 31))
        db.session.commit()
        proposal = incubation.propose(stay, "exit", {"effective_on": DAY, "reason": "迁出"},
                                      user=bureau)
        db.session.commit()
        incubation.approve(proposal, user=make_user("bureau"))
        db.session.commit()
    rows = db.session.scalars(select(WebhookEvent).where(
        WebhookEvent.type == "tenancy.status_changed").order_by(WebhookEvent.id)).all()
    assert [(e.payload["tenancy"]["previous_status"], e.payload["tenancy"]["status"])
            for e in rows] == [(None, "incubating"), ("incubating", "exited")]
    assert rows[-1].payload["tenancy"]["status_label"] == "已退出"
    assert rows[-1].payload["tenancy"]["carrier"]["name"] == "事件孵化器"
    assert len(_types(endpoint.id)) == 2


def test_a_lost_race_on_the_state_row_records_nothing():
    """Two commits saw the same change: the guarded state row lets only the first record it."""
    with frozen(DAY):
        make_endpoint("http://127.0.0.1:9/hook")
        firm = make_enterprise()
        db.session.commit()
        qual = ladder.grant_qualification(firm, "hnte", "GR202512000124", date(2025, 12, 1))
        db.session.flush()
        stale = events._states("qualification", [qual.id])  # what the loser read: nothing
        first = events.observe([firm.id])
        assert first
        assert events._advance("qualification", qual.id, stale.get(qual.id), "held") is None
        assert events.observe([firm.id]) == []


def test_expiry_fires_once_per_expiry_from_the_clock():
    with frozen(DAY):
        endpoint = make_endpoint("http://127.0.0.1:9/hook", events=["qualification.expired"])
        firm = make_enterprise()
        qual = ladder.grant_qualification(firm, "hnte", "GR202312000125", date(2023, 12, 1),
                                          valid_until=DAY + timedelta(days=1))
        db.session.commit()
        assert events.record_expiries(DAY) == []  # still valid today
    for offset in (2, 2, 3, 10):  # the day it ended, the same day again, later days
        with frozen(DAY + timedelta(days=offset)):
            events.record_expiries()
            db.session.commit()
    count = db.session.scalar(select(func.count()).select_from(WebhookEvent).where(
        WebhookEvent.type == "qualification.expired"))
    assert count == 1
    assert _types(endpoint.id) == ["qualification.expired"]
    # extended, then running out again: a second expiry, again once
    with frozen(DAY + timedelta(days=11)):
        ladder.update_qualification(qual, {"valid_until": DAY + timedelta(days=20)},
                                    expected_version=qual.version)
        db.session.commit()
    for offset in (21, 22, 22):
        with frozen(DAY + timedelta(days=offset)):
            events.record_expiries()
            db.session.commit()
    assert _types(endpoint.id) == ["qualification.expired", "qualification.expired"]


def test_a_revoked_title_does_not_also_expire():
    with frozen(DAY):
        make_endpoint("http://127.0.0.1:9/hook", events=["qualification.expired"])
        firm = make_enterprise()
        qual = ladder.grant_qualification(firm, "hnte", "GR202312000126", date(2023, 12, 1),
                                          valid_until=DAY + timedelta(days=1))
        ladder.revoke_qualification(qual, DAY, reason="撤销")
        db.session.commit()
        events.record_expiries()
    with frozen(DAY + timedelta(days=3)):
        assert events.record_expiries() == []


def test_a_commit_too_big_to_handle_inline_hands_the_firms_to_workers(app, monkeypatch):
    """Above the inline limit the firms go to observe tasks on the (in-memory) broker."""
    from tests.ladder.test_results_bulk import _published
    from tracker import changes
    from tracker.webhooks.tasks import observe_many

    app.extensions["celery"].set_default()
    monkeypatch.setitem(app.config, changes.LIMIT_KEY, 2)
    with frozen(DAY):
        endpoint = make_endpoint("http://127.0.0.1:9/hook", events=["qualification.granted"])
        db.session.commit()
        _published(app)  # start from an empty queue
        firms = [make_enterprise() for _ in range(3)]
        for n, firm in enumerate(firms):
            ladder.grant_qualification(firm, "hnte", f"GR20251200{n:04d}", date(2025, 12, 1))
        db.session.commit()
        ids = sorted(f.id for f in firms)
        queued = [args for task, args in _published(app) if task == "tracker.webhooks.observe"]
        assert queued == [ids]  # one message; the worker commits in chunks of the limit
        assert _types(endpoint.id) == []
        commits = []
        commit = db.session.commit
        monkeypatch.setattr(db.session, "commit", lambda: (commits.append(1), commit()))
        for chunk in queued:
            observe_many(chunk, chunk=2)  # what the worker runs: the message's chunk, the limit
        assert len(commits) == 2
        monkeypatch.undo()
        assert _types(endpoint.id) == ["qualification.granted"] * 3
        observe_many(ids)  # a duplicate task records nothing more
    assert _types(endpoint.id) == ["qualification.granted"] * 3


def test_a_save_with_several_deliveries_publishes_one_task(app):
    """A request publishes once (a hung broker costs one timeout); the worker fans out."""
    from tests.ladder.test_results_bulk import _published
    from tracker.webhooks.tasks import fan_out

    app.extensions["celery"].set_default()
    with frozen(DAY):
        make_endpoint("http://127.0.0.1:9/a")
        make_endpoint("http://127.0.0.1:9/b")
        firm = make_enterprise()
        db.session.commit()
        _published(app)
        ladder.grant_qualification(firm, "hnte", "GR202512000777", date(2025, 12, 1))
        db.session.commit()
        queued = [(name, args) for name, args in _published(app)
                  if name.startswith("tracker.webhooks.")]
        assert [name for name, _args in queued] == ["tracker.webhooks.fan_out"]
        ids = queued[0][1]
        assert len(ids) == 4  # granted and rung changed, for each of two endpoints
        fan_out(ids)  # what the worker runs
        assert sorted(args for name, args in _published(app)
                      if name == "tracker.webhooks.deliver") == sorted(ids)
