"""瞪羚's growth rule reads four fiscal years: the form, the demo and the gap text must follow."""

from __future__ import annotations

import re

from sqlalchemy import func, select

from tests.conftest import csrf_from, login
from tests.factories import make_user
from tracker.clock import today
from tracker.demo import load_demo
from tracker.enterprises.models import AnnualMetrics
from tracker.extensions import db
from tracker.ladder import gaps, rules, services
from tracker.ladder.rules import evaluate

GROWTH = {"dengling": {"min_revenue_cagr_pct": 20}}


def test_years_needed_come_from_the_rule_sets():
    """HNTE's R&D window is three years; a configured growth rule makes it four."""
    assert rules.fiscal_years_needed() == 3
    assert rules.fiscal_years_needed(GROWTH) == 4
    assert rules.fiscal_years_needed({"leader": {"min_rd_intensity_pct": 3, "rd_years": 5}}) == 5


def test_missing_base_year_is_named_not_the_entered_one():
    facts = {"as_of": "2026-06-30", "kinds": ["dengling"],
             "years": {"2025": {"revenue": 2_000_000}, "2024": {"revenue": 1_500_000},
                       "2023": {"revenue": 1_200_000}}}
    (result,) = evaluate(facts, local_thresholds=GROWTH)["results"]
    lines = gaps.why_not_yet(result)
    growth = next(line for line in lines if "复合增长率" in line)
    assert "2022年度" in growth and "2025年度" not in growth


def test_self_assessment_takes_four_years_and_evaluates_dengling(client):
    services.save_local_thresholds("dengling", {"min_revenue_cagr_pct": 20})
    db.session.commit()
    login(client, make_user("bureau"))
    page = client.get("/ladder/self-assessment")
    text = page.get_data(as_text=True)
    assert 'name="y4-revenue"' in text
    form = {"csrf_token": csrf_from(text), "as_of": "2026-06-30", "kinds": ["dengling"],
            "registered_in_tianjin": "1", "integrity_record_clean": "1",
            "y1-revenue": "300", "y2-revenue": "250", "y3-revenue": "200", "y4-revenue": "100"}
    response = client.post("/ladder/self-assessment", data=form)
    body = response.get_data(as_text=True)
    assert response.status_code == 200, body[:2000]
    verdict = re.search(r'data-kind="dengling" data-verdict="(\w+)"', body).group(1)
    assert verdict == "eligible"


def test_demo_firms_carry_the_years_the_rules_read():
    load_demo(6)
    needed = rules.fiscal_years_needed(GROWTH)
    last = today().year - 1
    counts = db.session.execute(
        select(AnnualMetrics.enterprise_id, func.count(AnnualMetrics.id))
        .where(AnnualMetrics.fiscal_year.between(last - needed + 1, last))
        .group_by(AnnualMetrics.enterprise_id)).all()
    assert counts and max(n for _, n in counts) == needed
