"""Turn an eligibility result into plain-Chinese "why not yet" lines and near-miss flags.

Pure functions over the dicts that ``tracker.ladder.rules.evaluate`` returns, shared by the gap
report, the self-assessment page and the "near misses" board.
"""

from __future__ import annotations

import re
from collections.abc import Mapping
from decimal import Decimal
from typing import Any

from tracker.money import format_wan

_ISO_DATE = re.compile(r"^\d{4}-\d{2}-\d{2}$")

#: Default relative margin for a near miss: within 10% of the bar.
DEFAULT_TOLERANCE = Decimal("0.10")

# What the gap means for criteria where "还差 N" would not tell the firm what to do; {gap} is
# the amount with its unit, {n} the bare number.
_GAP_PHRASES: Mapping[str, str] = {
    "staff_points": "还需增加{n}名科技人员",
    "tech_staff_ratio": "还需增加{n}名科技人员",
    "rd_ratio": "研究开发费用还需增加{gap}",
    "domestic_rd_ratio": "境内研究开发费用还需增加{gap}",
    "high_tech_income_ratio": "高新技术产品（服务）收入还需增加{gap}",
    "rd_intensity": "研发费用还需增加{gap}",
    "rd_expense_min": "研发费用合计还需增加{gap}",
    "revenue_cagr": "上年度营业收入还需增加{gap}",
    "registered_one_year": "还需{gap}才满足",
    "core_ip": "还需{gap}知识产权",
    "any_item": "还需满足其中至少1项",
}


def _amount(value: Any, unit: str | None) -> str:
    if isinstance(value, float) and value.is_integer():
        value = int(value)
    if unit == "元":  # the engine counts 元; people read 万元, as on the bureau's forms
        return f"{format_wan(Decimal(str(value)))}万元"
    if unit == "天":
        return f"{value}天"
    if unit == "项":
        return f"{value}项"
    return f"{value}{unit or ''}"


def _line(criterion: Mapping[str, Any]) -> str:
    label, status = criterion["label"], criterion["status"]
    note = criterion.get("note")
    if status == "unknown":
        if criterion.get("needs_expert"):
            return f"{label}：{note or '需专家评审'}。"
        # The years actually lacking figures when the rule knows them, else the year it reads.
        years = criterion.get("missing_years") or (
            [criterion["data_year"]] if criterion.get("data_year") else [])
        named = "、".join(map(str, years))
        return f"{label}：缺少数据" + (f"（{named}年度）" if named else "") + "，无法判断。"
    actual = criterion.get("actual")
    parts = []
    if isinstance(actual, int | float) and not isinstance(actual, bool):
        parts.append(f"目前为{_amount(actual, criterion.get('unit'))}")
    elif isinstance(actual, str) and _ISO_DATE.match(actual):
        parts.append(f"成立于{actual}")
    elif isinstance(actual, str):
        parts.append(f"目前为{actual}")
    gap = criterion.get("gap")
    if gap is not None:
        gap_text = _amount(gap, criterion.get("gap_unit"))
        default = "超出{gap}" if criterion.get("comparison") == "<=" else "还差{gap}"
        phrase = _GAP_PHRASES.get(criterion["code"], default)
        parts.append(phrase.format(gap=gap_text, n=_amount(gap, None)))
    elif criterion["code"] in _GAP_PHRASES and "{gap}" not in _GAP_PHRASES[criterion["code"]]:
        parts.append(_GAP_PHRASES[criterion["code"]])
    else:
        parts.append(f"不满足（要求{criterion['required']}）")
    if note:
        parts.append(note)
    return f"{label}：{'，'.join(parts)}。"


def why_not_yet(kind_result: Mapping[str, Any]) -> list[str]:
    """One plain line per unmet criterion (fail, then unknown) so a firm knows what to fix."""
    criteria = kind_result.get("criteria", [])
    failed = [_line(c) for c in criteria if c["status"] == "fail"]
    unknown = [_line(c) for c in criteria if c["status"] == "unknown"]
    return failed + unknown


def gap_report(evaluation: Mapping[str, Any]) -> dict[str, list[str]]:
    """The why-not-yet lines of every rung that is not yet eligible, keyed by kind code."""
    return {
        r["kind"]: why_not_yet(r)
        for r in evaluation.get("results", [])
        if r["verdict"] != "eligible"
    }


def near_miss(
    kind_result: Mapping[str, Any], tolerance: Decimal | float | str = DEFAULT_TOLERANCE
) -> dict[str, Any] | None:
    """The single failed criterion if it misses its bar by at most ``tolerance`` (relative).

    A near miss is worth a call from the officer: every other criterion passes (or only awaits
    an expert), and the one that fails is numeric and within the margin. Otherwise None.
    """
    criteria = kind_result.get("criteria", [])
    failed = [c for c in criteria if c["status"] == "fail"]
    if len(failed) != 1:
        return None
    if any(c["status"] == "unknown" and not c.get("needs_expert") for c in criteria):
        return None
    criterion = failed[0]
    actual, threshold = criterion.get("actual"), criterion.get("threshold")
    numeric = (int, float)
    if (
        criterion.get("comparison") not in (">=", "<=")
        or not isinstance(actual, numeric)
        or isinstance(actual, bool)
        or not isinstance(threshold, numeric)
        or not threshold
    ):
        return None
    margin = abs(Decimal(str(threshold)) - Decimal(str(actual))) / Decimal(str(threshold))
    if margin > Decimal(str(tolerance)):
        return None
    return {
        "kind": kind_result.get("kind"),
        "code": criterion["code"],
        "label": criterion["label"],
        "actual": actual,
        "threshold": threshold,
        "unit": criterion.get("unit"),
        "gap": criterion.get("gap"),
        "gap_unit": criterion.get("gap_unit"),
        "margin": float(margin.quantize(Decimal("0.0001"))),
        "line": _line(criterion),
    }


def near_misses(
    evaluation: Mapping[str, Any], tolerance: Decimal | float | str = DEFAULT_TOLERANCE
) -> list[dict[str, Any]]:
    """Near misses across every rung of one evaluation, in ladder order, for the board."""
    found = (near_miss(r, tolerance) for r in evaluation.get("results", []))
    return [m for m in found if m is not None]
