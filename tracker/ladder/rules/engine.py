"""The entry point: the rule-set versions of every rung and evaluate(facts) over them."""

from __future__ import annotations

from collections.abc import Mapping
from datetime import date
from types import MappingProxyType
from typing import Any

from tracker.ladder.rules.criteria import Outcome, RuleSet, _criterion, verdict_of
from tracker.ladder.rules.hnte import HNTE_32, HNTE_2016, _check_hnte
from tracker.ladder.rules.parsing import KINDS, _parse_thresholds, parse_facts
from tracker.ladder.rules.tech_sme import TECH_SME_115, TECH_SME_2017, _check_tech_sme
from tracker.ladder.rules.tianjin import (
    CHUYING_2021,
    TJ_LADDER_2021,
    _check_chuying,
    _check_local,
    local_years_read,
)

RULE_SETS: Mapping[str, tuple[RuleSet, ...]] = MappingProxyType(
    {
        # 国科发政〔2017〕115号, issued and in force 3 May 2017; the MIIT-run cycles since 2024
        # keep its criteria (domain.md §1.1-1.3).
        "tech_sme": (
            RuleSet(
                "tech_sme", TECH_SME_115, date(2017, 5, 3), None, TECH_SME_2017, _check_tech_sme
            ),
        ),
        # 津科规〔2021〕3号, issued 9 Jul 2021 (domain.md §3). The 2019 rules are not encoded.
        "chuying": (
            RuleSet(
                "chuying", TJ_LADDER_2021, date(2021, 7, 9), None, CHUYING_2021, _check_chuying
            ),
        ),
        "dengling": (
            RuleSet(
                "dengling",
                f"{TJ_LADDER_2021}（本地配置阈值）",
                date(2021, 7, 9),
                None,
                MappingProxyType({}),
                _check_local,
                years_read=local_years_read,
            ),
        ),
        # 国科发火〔2016〕32号, in force 1 Jan 2016 (replaced 国科发火〔2008〕172号).
        "hnte": (
            RuleSet(
                "hnte",
                HNTE_32,
                date(2016, 1, 1),
                None,
                HNTE_2016,
                _check_hnte,
                years_read=lambda params, _local: params["rd_years"],
            ),
        ),
        "leader_cultivation": (
            RuleSet(
                "leader_cultivation",
                f"{TJ_LADDER_2021}（本地配置阈值）",
                date(2021, 7, 9),
                None,
                MappingProxyType({}),
                _check_local,
                years_read=local_years_read,
            ),
        ),
        "leader": (
            RuleSet(
                "leader",
                f"{TJ_LADDER_2021}（本地配置阈值）",
                date(2021, 7, 9),
                None,
                MappingProxyType({}),
                _check_local,
                years_read=local_years_read,
            ),
        ),
    }
)


def rule_set_for(kind: str, as_of: date) -> RuleSet | None:
    """The rule-set version in force on as_of, so old evaluations replay under old rules."""
    for rule_set in RULE_SETS.get(kind, ()):
        if rule_set.in_force(as_of):
            return rule_set
    return None


def fiscal_years_needed(
    local_thresholds: Mapping[str, Mapping[str, Any]] | None = None,
    as_of: date | None = None,
) -> int:
    """The most fiscal years any rung's rule set reads, so forms and demo data carry them all."""
    thresholds = _parse_thresholds(local_thresholds)
    needed = 1
    for kind, versions in RULE_SETS.items():
        for rule_set in versions:
            if as_of is None or rule_set.in_force(as_of):
                needed = max(needed, rule_set.years_read(rule_set.params, thresholds.get(kind, {})))
    return needed


# --------------------------------------------------------------------------------------------
# Entry point
# --------------------------------------------------------------------------------------------


def evaluate(
    facts: Mapping[str, Any],
    *,
    local_thresholds: Mapping[str, Mapping[str, Any]] | None = None,
) -> dict[str, Any]:
    """Verdict and per-criterion reasons for each requested rung, per eligibility.md."""
    parsed = parse_facts(facts)
    thresholds = _parse_thresholds(local_thresholds)
    results = []
    for kind in parsed.kinds:
        rule_set = rule_set_for(kind, parsed.as_of)
        if rule_set is None:
            criteria = [
                _criterion(
                    "rule_set",
                    "评估日期适用的规则版本",
                    "已录入的规则版本",
                    None,
                    source="",
                    note="评估日期没有已录入的规则版本，需人工审核",
                    needs_expert=True,
                )
            ]
            outcome = Outcome(criteria)
            version = None
        else:
            outcome = rule_set.check(parsed, rule_set.params, thresholds.get(kind, {}))
            version = rule_set.rule_version
        results.append(
            {
                "kind": kind,
                "label": KINDS[kind],
                "rule_version": version,
                "verdict": verdict_of(outcome.criteria),
                "score": outcome.score,
                "track": outcome.track,
                "criteria": outcome.criteria,
            }
        )
    return {"as_of": parsed.as_of.isoformat(), "results": results}
