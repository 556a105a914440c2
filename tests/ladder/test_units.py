"""Gap texts speak 万元 like the bureau's forms, and percentages are rounded, not cut."""

from __future__ import annotations

from fractions import Fraction

from tracker.ladder import gaps
from tracker.ladder.rules.criteria import _pct, _pct_shown, _yuan


def test_percent_rounds_half_up():
    assert _pct(Fraction(2, 3)) == 66.67
    assert _pct(Fraction(1, 8)) == 12.5


def test_rounding_never_shows_a_failing_share_at_the_bar():
    assert _pct_shown(Fraction(5_999_999, 10_000_000), Fraction(60, 100)) == 59.99
    assert _pct_shown(Fraction(60, 100), Fraction(60, 100)) == 60.0


def test_money_in_labels_is_wan():
    assert _yuan(100_000) == "10万元"
    assert _yuan(12_345) == "1.2345万元"
    assert _yuan(300_000_000) == "3亿元"


def test_gap_lines_show_wan_not_yuan():
    criterion = {"code": "rd_ratio", "label": "研发费用占比", "status": "fail", "actual": 4.5,
                 "unit": "%", "gap": 123_456, "gap_unit": "元", "comparison": ">=",
                 "required": ">= 5%", "note": None}
    line = gaps.why_not_yet({"criteria": [criterion]})[0]
    assert "12.35万元" in line and "123,456元" not in line
    revenue = {"code": "revenue_min", "label": "营业收入", "status": "fail", "actual": 80_000,
               "unit": "元", "gap": 20_000, "gap_unit": "元", "comparison": ">=",
               "required": ">= 10万元", "note": None}
    line = gaps.why_not_yet({"criteria": [revenue]})[0]
    assert "目前为8.00万元" in line and "还差2.00万元" in line
