"""The ladder history panel on the enterprise page shows moves dated by the titles."""

from __future__ import annotations

import re
from datetime import date

from tests.conftest import csrf_from, login
from tests.factories import make_enterprise, make_user
from tracker.clock import frozen
from tracker.extensions import db
from tracker.ladder import services


def _history_panel(client, firm) -> list[tuple[str, str]]:
    """(rung moved to, days) per row of the panel, newest first."""
    page = client.get(f"/enterprises/{firm.id}").get_data(as_text=True)
    found = re.search(r'id="ladder-history">(.*?)</ul>', page, re.S)
    rows = re.findall(r"<strong>(.*?)</strong>.*?class=\"days\">(\d+)<", found.group(1), re.S) \
        if found else []
    return rows


def test_backdated_title_shows_its_real_stay(client):
    with frozen(date(2026, 12, 1)):
        firm = make_enterprise()
        services.grant_qualification(firm, "tech_sme", "2026120116000123", date(2026, 10, 13))
        services.grant_qualification(firm, "hnte", "GR202512000001", date(2025, 12, 5))
        db.session.commit()
        login(client, make_user("bureau"))
        assert _history_panel(client, firm) == [("国家高新技术企业", "361")]


def test_title_revoked_as_mistaken_disappears_from_the_panel(client):
    with frozen(date(2026, 12, 1)):
        firm = make_enterprise()
        services.grant_qualification(firm, "tech_sme", "2026120116000123", date(2026, 10, 13))
        wrong = services.grant_qualification(firm, "hnte", "GR202612000009", date(2026, 3, 20))
        db.session.commit()
        login(client, make_user("bureau"))
        assert _history_panel(client, firm) == [("国家高新技术企业", "256")]
        url = f"/ladder/qualifications/{wrong.id}/revoke"
        page = client.get(url).get_data(as_text=True)
        assert "录入错误" in page
        response = client.post(url, data={"csrf_token": csrf_from(page), "version": wrong.version,
                                          "revoked_on": "2026-12-01", "reason": "录入错误",
                                          "mistaken": "y"})
        assert response.status_code == 302
        assert _history_panel(client, firm) == [("科技型中小企业", "49")]
        assert services.transition_order_problems(firm.id) == []
