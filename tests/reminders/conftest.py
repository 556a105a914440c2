"""Fixtures for reminders: a firm with contacts and an officer, qualifications, a real SMTP sink."""

from __future__ import annotations

from datetime import date

import pytest

from bench.smtpsink import FlakyHandler, SmtpSink
from tests.factories import make_enterprise, make_user
from tracker.enterprises import services as enterprises
from tracker.extensions import db
from tracker.ladder.models import Qualification
from tracker.reminders.defaults import seed_rules


def make_qualification(enterprise, kind: str = "hnte", granted_on: date = date(2023, 12, 31),
                       valid_until: date | None = date(2026, 12, 30), **kwargs) -> Qualification:
    qual = Qualification(enterprise_id=enterprise.id, kind=kind, granted_on=granted_on,
                         valid_until=valid_until, number=kwargs.pop("number", "GR202312000001"),
                         **kwargs)
    db.session.add(qual)
    db.session.flush()
    return qual


@pytest.fixture
def rules():
    """The default reminder rules, seeded as the sweep would."""
    seed_rules()
    return None


@pytest.fixture
def firm(rules):
    """A 高新区 firm with an officer and one reminder contact (plus one who opted out)."""
    officer = make_user("bureau", name="王专员")
    enterprise = make_enterprise(name="天津海河智能科技有限公司", officer_id=officer.id)
    contact = enterprises.save_contact(enterprise, {
        "name": "张伟", "email": "zhang@firm.example", "receives_reminders": True})
    enterprises.save_contact(enterprise, {
        "name": "李静", "email": "li@firm.example", "receives_reminders": False})
    return {"enterprise": enterprise, "officer": officer, "contact": contact}


@pytest.fixture
def smtp(app):
    """A real aiosmtpd server on loopback; the app sends to it while the test runs."""
    sink = SmtpSink(FlakyHandler())
    with sink:
        previous = app.config.get("SMTP_URL")
        app.config["SMTP_URL"] = sink.url
        try:
            yield sink
        finally:
            app.config["SMTP_URL"] = previous
