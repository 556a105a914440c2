"""Stored codes reach people only through their labels: history, ledger and exports alike."""

from __future__ import annotations

import html
import re

import pytest
from sqlalchemy import select

from tests.conftest import login
from tests.factories import make_user
from tracker.audit.models import AuditEvent
from tracker.clock import today
from tracker.demo import load_demo
from tracker.enterprises import services as enterprises
from tracker.enterprises.models import Enterprise
from tracker.extensions import db
from tracker.reminders.sweep import run_sweep

#: codes people saw raw before: rungs, ledger steps, ids; any snake_case word is a code too
RAW = re.compile(r"\b([a-z]+_[a-z_]+|hnte|chuying|d\d+|rung:\w+)\b|∅ → \d|→ \d+\b")
#: plain-word codes (statuses, sources, money fields): raw only where the page is Chinese
RAW_WORDS = re.compile(r"\b(incubating|graduated|revenue|investment|manual|import|demo|active)\b")

EMAIL = re.compile(r"\S+@\S+")


def visible_text(page: str) -> str:
    """What a person reads: the body without tags, attributes, scripts or forms' values."""
    body = page.split("<body", 1)[-1]
    body = re.sub(r"<(script|style)\b.*?</\1>", " ", body, flags=re.S)
    return html.unescape(re.sub(r"<[^>]+>", " ", body))


@pytest.fixture
def demo_pages(client):
    """The demo with one officer change and a reminder sweep, and a bureau user logged in."""
    load_demo(8)
    firm = db.session.scalars(select(Enterprise).order_by(Enterprise.id)).first()
    officer = make_user("bureau", name="周专员")
    enterprises.update_enterprise(firm, {"officer_id": officer.id}, expected_version=None)
    run_sweep(today())
    db.session.commit()
    return firm


@pytest.mark.parametrize("locale", ["zh_CN", "en"])
def test_history_and_ledger_show_labels_not_codes(client, demo_pages, locale):
    login(client, make_user("bureau", locale=locale))
    firm_ids = db.session.scalars(select(AuditEvent.enterprise_id).distinct()
                                  .where(AuditEvent.enterprise_id.is_not(None))).all()
    pages = [f"/enterprises/{i}/history" for i in firm_ids] + ["/reminders/?size=200"]
    for url in pages:
        response = client.get(url)
        assert response.status_code == 200, url
        text = EMAIL.sub(" ", visible_text(response.get_data(as_text=True)))
        patterns = [RAW, RAW_WORDS] if locale == "zh_CN" else [RAW]
        found = sorted({text[max(m.start() - 30, 0):m.end() + 10].strip()
                        for pattern in patterns for m in pattern.finditer(text)})
        assert not found, (url, found)
    history = visible_text(client.get(f"/enterprises/{demo_pages.id}/history")
                           .get_data(as_text=True))
    assert "周专员" in history


def test_every_registered_label_has_an_english_text(app):
    """Labels are looked up at run time, so the extractor cannot see them: check them here."""
    from tests.test_i18n import _english
    from tracker import labels

    known = _english()
    tables = [*labels.VALUE_LABELS.values(), *labels.ENTITY_VALUE_LABELS.values(),
              labels.AUDIT_LABELS, labels.ACTION_LABELS, labels.FIELD_NAMES]
    words = {v[0] if isinstance(v, tuple) else str(v) for t in tables for v in t.values()}
    missing = sorted(w for w in words if re.search(r"[\u4e00-\u9fff]", w) and w not in known)
    assert not missing, missing
