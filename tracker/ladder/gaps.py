"""Turn an eligibility result into plain-Chinese "why not yet" lines and near-miss flags.

Pure functions over the dicts that ``tracker.ladder.rules.evaluate`` returns, shared by the gap
report, the self-assessment page and the "near misses" board.
"""

from __future__ import annotations

import re
from collections.abc import Mapping
from decimal import Decimal
from typing import Any

from tracker.i18n import gettext as _
from tracker.ladder import wording

_ISO_DATE = re.compile(r"^\d{4}-\d{2}-\d{2}$")

#: Default relative margin for a near miss: within 10% of the bar.
DEFAULT_TOLERANCE = Decimal("0.10")

# What the gap means for criteria where "还差 N" would not tell the firm what to do; %(gap)s is
# the amount with its unit, %(n)s the bare number. Each goes through the catalogue
# (tests/ladder/test_wording.py checks each has its English).
_GAP_PHRASES: Mapping[str, str] = {
    "staff_points": "还需增加%(n)s名科技人员",
    "tech_staff_ratio": "还需增加%(n)s名科技人员",
    "rd_ratio": "研究开发费用还需增加%(gap)s",
    "domestic_rd_ratio": "境内研究开发费用还需增加%(gap)s",
    "high_tech_income_ratio": "高新技术产品（服务）收入还需增加%(gap)s",
    "rd_intensity": "研发费用还需增加%(gap)s",
    "rd_expense_min": "研发费用合计还需增加%(gap)s",
    "revenue_cagr": "上年度营业收入还需增加%(gap)s",
    "registered_one_year": "还需%(gap)s才满足",
    "core_ip": "还需%(gap)s知识产权",
    "any_item": "还需满足其中至少1项",
}


def _amount(value: Any, unit: str | None) -> str:
    return wording.amount(value, unit)


def _line(criterion: Mapping[str, Any]) -> str:
    label, status = wording.localise(criterion["label"]), criterion["status"]
    note = wording.localise(criterion.get("note"))
    if status == "unknown":
        if criterion.get("needs_expert"):
            return _("%(label)s：%(note)s。", label=label, note=note or _("需专家评审"))
        # The years actually lacking figures when the rule knows them, else the year it reads.
        years = criterion.get("missing_years") or (
            [criterion["data_year"]] if criterion.get("data_year") else [])
        if years:
            return _("%(label)s：缺少数据（%(years)s年度），无法判断。", label=label,
                     years=_("、").join(map(str, years)))
        return _("%(label)s：缺少数据，无法判断。", label=label)
    actual = criterion.get("actual")
    parts = []
    if isinstance(actual, int | float) and not isinstance(actual, bool):
        parts.append(_("目前为%(value)s", value=_amount(actual, criterion.get("unit"))))
    elif isinstance(actual, str) and _ISO_DATE.match(actual):
        parts.append(_("成立于%(date)s", date=actual))
    elif isinstance(actual, str):
        parts.append(_("目前为%(value)s", value=actual))
    gap = criterion.get("gap")
    phrase = _GAP_PHRASES.get(criterion["code"])
    if gap is not None:
        gap_text = _amount(gap, criterion.get("gap_unit"))
        if phrase is not None:
            parts.append(_(phrase, gap=gap_text, n=_amount(gap, None)))
        elif criterion.get("comparison") == "<=":
            parts.append(_("超出%(gap)s", gap=gap_text))
        else:
            parts.append(_("还差%(gap)s", gap=gap_text))
    elif phrase is not None and "%(gap)s" not in phrase:
        parts.append(_(phrase))
    else:
        parts.append(_("不满足（要求%(required)s）",
                       required=wording.localise(criterion["required"])))
    if note:
        parts.append(note)
    return _("%(label)s：%(parts)s。", label=label, parts=_("，").join(parts))


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


def near_miss_line(near: Mapping[str, Any]) -> str:
    """A stored near miss's line in the reader's language (the stored ``line`` is Chinese)."""
    actual, threshold = near.get("actual"), near.get("threshold")
    over = isinstance(actual, int | float) and isinstance(threshold, int | float) \
        and actual > threshold
    return _line({**near, "status": "fail", "comparison": "<=" if over else ">=",
                  "required": "", "note": None})


def near_misses(
    evaluation: Mapping[str, Any], tolerance: Decimal | float | str = DEFAULT_TOLERANCE
) -> list[dict[str, Any]]:
    """Near misses across every rung of one evaluation, in ladder order, for the board."""
    found = (near_miss(r, tolerance) for r in evaluation.get("results", []))
    return [m for m in found if m is not None]
