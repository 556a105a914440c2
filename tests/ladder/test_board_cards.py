"""The rung board's cards, built once per request in Python, print what each firm's card
printed when the template looked every label up itself (zone and field labels, the detail
link, the stale badge, the next step), in both languages."""

from __future__ import annotations

import re
from datetime import UTC, date, datetime

import pytest
from flask import session
from markupsafe import escape
from sqlalchemy import update

from tests.conftest import csrf_from, login
from tests.factories import make_user
from tests.ladder.conftest import make_firm
from tracker.enterprises.models import Enterprise
from tracker.enterprises.zones import field_label, zone_label
from tracker.extensions import db
from tracker.ladder import queries, services


@pytest.fixture
def firms(day):
    """A candidate, a stale firm whose name needs escaping, one with an application, one bare."""
    ready = make_firm(name="天津海河智能科技有限公司", zone="hitech")
    stale = make_firm(name="天津<新>&材料有限公司", zone="teda")
    applied = make_firm(name="天津申报中科技有限公司", zone="ecocity", tech_field="biomedicine")
    bare = make_firm(name="天津空白科技有限公司", years=(), zone="towns", tech_field=None)
    services.create_application(applied, {"kind": "hnte", "year": 2026,
                                          "deadline": date(2026, 9, 30)})
    db.session.commit()
    # written around the services, whose commit recomputes a few touched firms at once
    db.session.execute(update(Enterprise).where(Enterprise.id == stale.id).values(
        eligibility_stale_since=datetime(2026, 6, 29, 1, 30, tzinfo=UTC)))
    db.session.commit()
    return [ready, stale, applied, bare]


def _card(text: str, firm_id: int) -> str:
    found = re.search(rf'<li class="[^"]*card-firm" data-enterprise="{firm_id}">(.*?)</li>',
                      text, re.S)
    assert found, firm_id
    return " ".join(found.group(1).split())


@pytest.mark.parametrize("language", ["zh_CN", "en"])
def test_each_card_prints_what_the_per_card_lookups_printed(app, client, firms, language):
    login(client, make_user("bureau"))
    if language == "en":
        token = csrf_from(client.get("/ladder/board").get_data(as_text=True))
        client.post("/language/en", data={"csrf_token": token, "next": "/ladder/board"})
    text = client.get("/ladder/board").get_data(as_text=True)
    with app.test_request_context():
        session["locale"] = language
        # the straightforward way: each label and step for each firm, as the template did
        steps = queries.next_steps(firms)
        for firm in firms:
            card = _card(text, firm.id)
            assert f'<a href="/enterprises/{firm.id}#ladder">{escape(firm.name)}</a>' in card
            assert f"{zone_label(firm.zone)} · {field_label(firm.tech_field)}" in card
            assert str(escape(steps[firm.id]["text"])) in card
            assert f'text-{steps[firm.id]["tone"]}-emphasis' in card
            assert ("eligibility-stale" in card) == (firm.eligibility_stale_since is not None)
    if language == "en":
        assert "Next step: " in text and "National high-tech enterprise (HNTE) application" in text
    else:
        assert "下一步：" in text and "资格结果待更新" in text and "国家高新技术企业申报" in text
    assert "天津&lt;新&gt;&amp;材料有限公司" in text
    assert text.count("eligibility-stale") == 1
    assert "2026-09-30" in text  # the application's deadline in its step
