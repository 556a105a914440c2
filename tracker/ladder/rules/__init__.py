"""Eligibility rules of the innovation ladder: facts in, a verdict per rung with reasons out.

Pure standard-library code (no Flask, no database) so the board, the gap report, the
self-assessment page, the API, the CLI and the reminders all share one engine. The interface is
fixed in eligibility.md; thresholds and their sources are in domain.md §1-§3.

One module per section: ``parsing`` (vocabulary and facts validation), ``criteria`` (exact
helpers and the criterion line), ``tech_sme``, ``hnte``, ``tianjin`` (雏鹰/瞪羚/科技领军) and
``engine`` (the dated rule-set versions and ``evaluate``). Callers import from here; the
kinds, fields and honours tables come from tracker.vocabulary and are re-exported.
"""

from tracker.ladder.rules.criteria import Outcome, RuleSet, verdict_of
from tracker.ladder.rules.engine import RULE_SETS, evaluate, fiscal_years_needed, rule_set_for
from tracker.ladder.rules.hnte import HNTE_32, HNTE_2016, HNTE_GUIDE_195, hnte_rd_threshold_pct
from tracker.ladder.rules.parsing import (
    LOCAL_THRESHOLD_KEYS,
    LOCALLY_CONFIGURED_KINDS,
    STATUSES,
    VERDICTS,
    Facts,
    FactsError,
    ThresholdsError,
    _parse_thresholds,  # the ladder's threshold settings validate through the engine's parser
    parse_facts,
    validate_facts,
)
from tracker.ladder.rules.tech_sme import TECH_SME_115, TECH_SME_2017, band_points, ip_points
from tracker.ladder.rules.tianjin import CHUYING_2021, CHUYING_ITEMS, TJ_LADDER_2021
from tracker.vocabulary import HONOURS, KINDS, TECH_FIELDS

__all__ = [
    "CHUYING_2021",
    "CHUYING_ITEMS",
    "HNTE_2016",
    "HNTE_32",
    "HNTE_GUIDE_195",
    "HONOURS",
    "KINDS",
    "LOCALLY_CONFIGURED_KINDS",
    "LOCAL_THRESHOLD_KEYS",
    "RULE_SETS",
    "STATUSES",
    "TECH_FIELDS",
    "TECH_SME_115",
    "TECH_SME_2017",
    "TJ_LADDER_2021",
    "VERDICTS",
    "Facts",
    "FactsError",
    "Outcome",
    "RuleSet",
    "ThresholdsError",
    "_parse_thresholds",
    "band_points",
    "evaluate",
    "fiscal_years_needed",
    "hnte_rd_threshold_pct",
    "ip_points",
    "parse_facts",
    "rule_set_for",
    "validate_facts",
    "verdict_of",
]
