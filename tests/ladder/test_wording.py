"""The engine's Chinese sentences reach English readers through the catalogue."""

from __future__ import annotations

import re

import pytest
from flask_babel import force_locale

from tests.english_scan import OFFICIAL
from tests.ladder.test_rules import make_facts, year_row
from tests.test_i18n import _english
from tracker.ladder import gaps, wording
from tracker.ladder.rules import evaluate

HAN = re.compile(r"[\u3400-\u9fff]")


def test_every_template_phrase_and_unit_has_english():
    known = _english()
    words = [*wording.TEMPLATES, *gaps._GAP_PHRASES.values(), *wording.UNITS.values()]
    assert not [w for w in words if w not in known]


def _sentences(evaluation):
    for result in evaluation["results"]:
        yield result["rule_version"]
        for c in result["criteria"]:
            yield from (c["label"], c["required"], c.get("note"), c.get("source"))
            yield from (i["label"] for i in c.get("items") or [])


@pytest.mark.parametrize("facts", [
    make_facts(),
    make_facts(years={"2025": year_row(revenue=80_000, rd_expense=0)}, founded_on="2025-03-01"),
    make_facts(honours=["hnte_valid", "software_certified"], innovation_score=None),
])
def test_a_full_evaluation_reads_in_english(app, facts):
    thresholds = {"dengling": {"min_revenue_cagr_pct": 20, "min_rd_intensity_pct": 3,
                               "source": "会议纪要"},
                  "leader": {"min_revenue": 1_000_000, "min_avg_rd_expense": 500_000,
                             "max_age_years": 10}}
    evaluation = evaluate(facts, local_thresholds=thresholds)
    with app.test_request_context(), force_locale("en"):
        left = []
        for text in _sentences(evaluation):
            shown = wording.localise(text)
            rest = OFFICIAL.sub("", (shown or "").replace("会议纪要", ""))
            if HAN.search(rest) or re.search(r"[，。：；（）]", rest):
                left.append((text, shown))
        lines = [line for r in evaluation["results"] for line in gaps.why_not_yet(r)]
        left += [(line, line) for line in lines
                 if HAN.search(OFFICIAL.sub("", line.replace("会议纪要", "")))]
    assert not left, left
