"""How long a verdict holds: the last day evaluate() reads the same facts the same way.

The rules read the evaluation date in only a few places; between those dates a firm whose facts
did not change gets the same stored verdict (verdict, score, track, failed criteria, near miss),
so the nightly recompute need not evaluate it again. Only the wording of the full criteria moves
daily (HNTE's "founded on or before …" and its days-to-go), and the full criteria are computed
afresh on display. Every date below names the rule that reads it; a rule added later that reads
the date another way must add its boundary here (this module is part of the rules' digest, so
changing it re-evaluates every firm). When in doubt, the answer is `as_of` itself: evaluate
again tomorrow.
"""

from __future__ import annotations

from collections.abc import Mapping
from datetime import date, timedelta
from typing import Any

from tracker.ladder.rules.criteria import _add_years
from tracker.ladder.rules.engine import RULE_SETS
from tracker.ladder.rules.parsing import _parse_date

_DAY = timedelta(days=1)


def _rule_set_switches(as_of: date) -> list[date]:
    """Days a rule-set version comes into or goes out of force (engine.rule_set_for)."""
    days = []
    for versions in RULE_SETS.values():
        for rule_set in versions:
            days.append(rule_set.effective_from)
            if rule_set.effective_to is not None:
                days.append(rule_set.effective_to + _DAY)
    return [d for d in days if d > as_of]


def _age_thresholds(as_of: date, founded: date) -> list[date]:
    """Days a firm's age crosses a threshold counted to the evaluation date itself.

    国科发火〔2016〕32号 第十一条(一) 注册成立一年以上 (hnte.py: founded <= as_of - N years,
    with 民法典 第二百零三条 for 29 Feb). The first passing day is the anniversary as
    _add_years reads it; for a 29 Feb founding that reads 28 Feb in a common year, where the
    comparison still fails, so 1 Mar is a boundary too. The Tianjin age limits (雏鹰 注册8年以内
    and the locally configured max_age_years) count to 31 Dec of the previous year, so they
    move only with the year.
    """
    days = []
    for versions in RULE_SETS.values():
        for rule_set in versions:
            years = rule_set.params.get("min_registered_years")
            if years is None:
                continue
            anniversary = _add_years(founded, years)
            days.append(anniversary)
            if anniversary.day != founded.day:  # 29 Feb read as 28 Feb
                days.append(anniversary + _DAY)
    return [d for d in days if d > as_of]


def rules_valid_through(facts: Mapping[str, Any]) -> date:
    """The last day on which these facts, re-dated, get the verdicts they get on `as_of`.

    - 31 Dec of as_of's year: the latest fiscal year is the one before as_of's year
      (eligibility.md "Facts"), and with it the R&D windows (criteria._fiscal_window), the
      growth base (tianjin.revenue_cagr) and the Tianjin age reference date (截至上年末);
    - the day before a rule-set version comes into or goes out of force (engine.RULE_SETS);
    - the day before an age threshold counted to the evaluation date is crossed
      (_age_thresholds).
    Facts without a readable date are good for their own day only.
    """
    as_of = _parse_date(facts.get("as_of"))
    if as_of is None:
        raise ValueError("facts without a readable as_of")
    ends = [date(as_of.year + 1, 1, 1), *_rule_set_switches(as_of)]
    enterprise = facts.get("enterprise")
    founded_raw = enterprise.get("founded_on") if isinstance(enterprise, Mapping) else None
    if founded_raw is not None:
        founded = _parse_date(founded_raw)
        if founded is None:
            return as_of
        ends += _age_thresholds(as_of, founded)
    return min(ends) - _DAY
