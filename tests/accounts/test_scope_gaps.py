"""Scope gaps found through side channels (issue 11 item 3): each one reached as its user would."""

from __future__ import annotations

import re
from datetime import date

import pytest
from flask import g
from sqlalchemy import func, select

from tests.conftest import csrf_token, login
from tests.factories import make_carrier, make_enterprise, make_user, valid_uscc
from tests.reminders.conftest import make_qualification
from tracker.audit.models import AuditEvent
from tracker.clock import frozen
from tracker.enterprises import services as enterprises
from tracker.enterprises.models import AnnualMetrics, Contact
from tracker.extensions import db
from tracker.incubation import services as incubation
from tracker.incubation.models import StatusProposal
from tracker.reminders import services as reminders
from tracker.reminders.defaults import seed_rules
from tracker.reminders.models import OutboxMessage, Reminder
from tracker.reminders.sweep import run_sweep


@pytest.fixture
def as_user(app):
    """A fresh test client logged in as `user`."""

    def _as(user):
        g.pop("_login_user", None)
        g.pop("csrf_token", None)
        client = app.test_client()
        login(client, user)
        return client

    return _as


@pytest.fixture
def moved_on():
    """A firm that left 甲孵化器 for 乙孵化器 (approved), with the old and new managers."""
    old = make_carrier(name="甲孵化器", kind="incubator", zone="hitech", area_m2=5000)
    new = make_carrier(name="乙孵化器", kind="incubator", zone="hitech", area_m2=5000)
    firm = make_enterprise(name="天津转出科技有限公司", zone="hitech", founded_on=date(2023, 3, 1))
    contact = enterprises.save_contact(firm, {"name": "赵敏", "email": "zhao@firm.example"})
    enterprises.save_metrics(firm, 2024, {"employees": 12})
    first = incubation.open_tenancy(firm, old, date(2024, 1, 31))
    bureau = make_user("bureau")
    proposal = incubation.propose(first, "exit", {"effective_on": date(2025, 6, 30),
                                                  "reason": "迁出"}, user=make_user("bureau"))
    incubation.approve(proposal, user=bureau)
    current = incubation.open_tenancy(firm, new, date(2025, 7, 1))
    db.session.flush()
    return {"firm": firm, "contact": contact, "old_tenancy": first, "new_tenancy": current,
            "old_proposal": proposal,
            "old_manager": make_user("carrier_manager", carrier_id=old.id),
            "new_manager": make_user("carrier_manager", carrier_id=new.id)}


def _counts() -> tuple[int, int, int]:
    return (db.session.scalar(select(func.count(Contact.id))),
            db.session.scalar(select(func.count(AnnualMetrics.id))),
            db.session.scalar(select(func.count(AuditEvent.id))))


def test_a_former_carriers_manager_neither_reads_nor_writes_the_firm(moved_on, as_user):
    firm = moved_on["firm"]
    client = as_user(moved_on["old_manager"])
    token = csrf_token(client, "/enterprises/")
    before = _counts()
    assert client.get(f"/enterprises/{firm.id}").status_code == 404
    assert client.post(f"/enterprises/{firm.id}/contacts", data={
        "csrf_token": token, "contact-name": "钱多", "contact-locale": "zh_CN"}).status_code == 404
    contact = moved_on["contact"]
    assert client.post(f"/enterprises/{firm.id}/contacts/{contact.id}", data={
        "csrf_token": token, "name": "改名", "locale": "zh_CN"}).status_code == 404
    assert client.post(f"/enterprises/{firm.id}/metrics/new", data={
        "csrf_token": token, "fiscal_year": 2025, "employees": 99}).status_code == 404
    assert client.post(f"/enterprises/{firm.id}/metrics/2024", data={
        "csrf_token": token, "fiscal_year": 2024, "employees": 1}).status_code == 404
    # Read-only history of their own tenancy stays, without the firm's present figures.
    old = moved_on["old_tenancy"]
    page = client.get(f"/incubation/tenancies/{old.id}")
    assert page.status_code == 200
    assert "毕业条件核对" not in page.get_data(as_text=True)  # the firm's figures of today
    history = client.get(f"/incubation/proposals/{moved_on['old_proposal'].id}")
    assert history.status_code == 200
    assert "毕业条件核对" not in history.get_data(as_text=True)
    assert client.post(f"/incubation/tenancies/{old.id}/edit", data={
        "csrf_token": token, "moved_in_on": "2024-01-01"}).status_code == 403
    assert client.post(f"/incubation/tenancies/{old.id}/propose", data={
        "csrf_token": token, "action": "exit"}).status_code == 403
    assert client.get(f"/incubation/tenancies/{moved_on['new_tenancy'].id}").status_code == 404
    db.session.expire_all()
    assert _counts() == before
    # The firm's current carrier keeps full access.
    current = as_user(moved_on["new_manager"])
    assert current.get(f"/enterprises/{firm.id}").status_code == 200


def test_duplicate_uscc_message_names_no_firm(as_user):
    other = make_enterprise(name="天津保密科技有限公司", zone="teda", uscc=valid_uscc(93001))
    officer = make_user("zone", zone="hitech")
    client = as_user(officer)
    page = client.post("/enterprises/new", data={
        "csrf_token": csrf_token(client, "/enterprises/new"), "name": "天津新公司",
        "uscc": other.uscc, "zone": "hitech", "officer_id": officer.id,
        "restricted_industry": "", "tech_field": ""})
    text = page.get_data(as_text=True)
    assert page.status_code == 400
    assert "已登记" in text and "区科技局" in text
    assert other.name not in text


def test_carrier_figures_count_only_tenancies_in_the_zone(as_user):
    carrier = make_carrier(name="甲孵化器", kind="incubator", zone="hitech", area_m2=1000)
    mine = make_enterprise(zone="hitech", founded_on=date(2023, 3, 1))
    theirs = [make_enterprise(zone="teda", founded_on=date(2023, 3, 1)) for _ in range(3)]
    for firm in [mine, *theirs]:
        incubation.open_tenancy(firm, carrier, date(2024, 3, 1))
    zone = make_user("zone", zone="hitech")
    assert incubation.carrier_stats(carrier, user=zone).tenants == 1
    assert incubation.carrier_stats(carrier).tenants == 4  # the shell and beat tasks count all
    client = as_user(zone)
    listing = client.get("/incubation/carriers").get_data(as_text=True)
    assert re.search(r"在孵\D{0,40}4|>4<", listing) is None
    page = client.get(f"/incubation/carriers/{carrier.id}").get_data(as_text=True)
    for firm in theirs:
        assert firm.name not in page
    assert incubation.carrier_check(carrier, user=zone).stats.tenants == 1


@pytest.mark.parametrize("role", ["viewer", "zone", "carrier_manager", "bureau", "admin"])
def test_outbox_staff_copy_carries_no_live_unsubscribe_token(role, as_user):
    seed_rules()
    firm = make_enterprise(name="天津海河智能科技有限公司", zone="hitech")
    contact = enterprises.save_contact(firm, {"name": "张伟", "email": "zhang@firm.example",
                                              "receives_reminders": True})
    make_qualification(firm, valid_until=date(2026, 12, 31))
    carrier = make_carrier(zone="hitech")
    incubation.open_tenancy(firm, carrier, date(2024, 3, 1))
    with frozen(date(2026, 12, 1)):
        run_sweep(date(2026, 12, 1))
        reminder = db.session.scalar(select(Reminder).where(
            Reminder.recipient_type == "contact", Reminder.recipient_id == contact.id))
        _message, body = reminders.compose(reminder)
    token = reminders.unsubscribe_token(reminder)
    assert token in body  # the mail itself keeps the recipient's link
    message = OutboxMessage(reminder_id=reminder.id, message_id="<x@test>",
                            to_address=contact.email, subject="s", body_text=body,
                            transport="test", enterprise_id=firm.id)
    db.session.add(message)
    db.session.flush()
    user = make_user(role, carrier_id=carrier.id) if role == "carrier_manager" else make_user(role)
    client = as_user(user)
    page = client.get(f"/reminders/outbox/{message.id}")
    assert page.status_code == 200
    text = page.get_data(as_text=True)
    assert token not in text
    assert "/reminders/unsubscribe/" not in text


def _proposal(tenancy, proposer):
    return incubation.propose(tenancy, "exit", {"effective_on": date(2025, 6, 30),
                                                "reason": "迁出"}, user=proposer)


@pytest.fixture
def tenancy():
    """A tenancy at a 高新区 incubator."""
    carrier = make_carrier(zone="hitech")
    firm = make_enterprise(zone="hitech", founded_on=date(2023, 3, 1))
    return incubation.open_tenancy(firm, carrier, date(2024, 1, 31))


@pytest.mark.parametrize("role", ["bureau", "zone"])
def test_an_editor_cannot_decide_their_own_proposal(role, tenancy, as_user):
    editor = make_user(role)
    proposal = _proposal(tenancy, editor)
    with pytest.raises(PermissionError):
        incubation.approve(proposal, user=editor)
    with pytest.raises(PermissionError):
        incubation.reject(proposal, user=editor, comment="不行")
    client = as_user(editor)
    token = csrf_token(client, f"/incubation/proposals/{proposal.id}")
    response = client.post(f"/incubation/proposals/{proposal.id}", data={
        "csrf_token": token, "decision": "approve", "version": proposal.version})
    assert response.status_code == 403
    db.session.expire_all()
    assert db.session.get(StatusProposal, proposal.id).status == "pending"
    incubation.approve(proposal, user=make_user("bureau"))  # someone else decides
    assert proposal.status == "approved"


def test_an_admin_may_decide_their_own_proposal_and_it_is_recorded(tenancy):
    admin = make_user("admin")
    proposal = _proposal(tenancy, admin)
    incubation.approve(proposal, user=admin)
    event = db.session.scalar(select(AuditEvent).where(
        AuditEvent.entity_type == "tenancy_proposal", AuditEvent.entity_id == proposal.id,
        AuditEvent.action == "approve"))
    assert event.changes.get("self_decided") == [None, True]
