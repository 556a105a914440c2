"""Criteria helpers: exact arithmetic, one criterion line, the verdict, and the rule-set shape.

Pure standard-library code every rung's check is written with (eligibility.md "criteria").
"""

from __future__ import annotations

import math
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass, field
from datetime import date
from decimal import ROUND_HALF_UP, Decimal
from fractions import Fraction
from typing import Any

from tracker.ladder.rules.parsing import Facts

# --------------------------------------------------------------------------------------------
# Small exact helpers
# --------------------------------------------------------------------------------------------


def _add_years(day: date, years: int) -> date:
    # 民法典 第二百零三条: with no matching day in the final month, the month's last day counts.
    try:
        return day.replace(year=day.year + years)
    except ValueError:
        return day.replace(year=day.year + years, day=28)


def _pct(ratio: Fraction) -> float:
    """Percent with two decimals, rounded half up as people round (66.666…% reads 66.67%)."""
    hundredths = (Decimal(ratio.numerator) * 10000 / Decimal(ratio.denominator)).quantize(
        Decimal(1), rounding=ROUND_HALF_UP)
    return float(hundredths.scaleb(-2))


def _pct_shown(ratio: Fraction, bar: Fraction) -> float:
    """Rounded percent that stays on the verdict's side: a failing 59.996% reads 59.99%."""
    shown = _pct(ratio)
    if ratio < bar and Fraction(Decimal(str(shown))) / 100 >= bar:
        return float((Decimal(bar.numerator) * 100 / bar.denominator - Decimal("0.01"))
                     .quantize(Decimal("0.01")))
    return shown


def _num(value: Fraction | int | None) -> int | float | None:
    if value is None:
        return None
    value = Fraction(value)
    return int(value) if value.denominator == 1 else float(value)


def _yuan(amount: int | Fraction) -> str:
    """Money as the bureau's notices write it: 2亿元, 5000万元, 10万元, else exact 万元."""
    amount = Fraction(amount)
    if amount and amount % 100_000_000 == 0:
        return f"{int(amount // 100_000_000)}亿元"
    return f"{_num(amount / 10_000):,}万元"

def _pct_text(pct: Fraction | int) -> str:
    return f"{_num(Fraction(pct)):g}%"


def _and3(*values: bool | None) -> bool | None:
    if any(v is False for v in values):
        return False
    return None if any(v is None for v in values) else True


def _or3(*values: bool | None) -> bool | None:
    if any(v is True for v in values):
        return True
    return None if any(v is None for v in values) else False


def _status(ok: bool | None) -> str:
    return "unknown" if ok is None else ("pass" if ok else "fail")


def _ge(value: Fraction | int | None, bar: Fraction | int) -> bool | None:
    return None if value is None else value >= bar


def _share(part: Fraction | None, whole: Fraction | None) -> Fraction | None:
    """part/whole, or None when unknown or the whole is zero (a share of nothing is undefined)."""
    if part is None or whole is None or whole == 0:
        return None
    return part / whole


def _needed_to_reach_share(part: Fraction, whole: Fraction, share: Fraction) -> Fraction:
    # Adding to the part also adds to the whole (a new tech hire is also an employee), so solve
    # (part + x) / (whole + x) >= share for x.
    return (share * whole - part) / (1 - share)


def _criterion(
    code: str,
    label: str,
    required: str,
    ok: bool | None,
    *,
    source: str,
    actual: Any = None,
    unit: str | None = None,
    data_year: int | None = None,
    threshold: int | float | None = None,
    comparison: str | None = None,
    gap: int | float | None = None,
    gap_unit: str | None = None,
    note: str | None = None,
    needs_expert: bool = False,
    **extra: Any,
) -> dict[str, Any]:
    status = _status(ok)
    row = {
        "code": code,
        "label": label,
        "required": required,
        "actual": actual,
        "unit": unit,
        "data_year": data_year,
        "status": status,
        "source": source,
        "threshold": threshold,
        "comparison": comparison,
        # A gap only means something for a failure; near-miss and gap report read it.
        "gap": gap if status == "fail" else None,
        "gap_unit": gap_unit if status == "fail" and gap is not None else None,
        "note": note,
        "needs_expert": needs_expert and status == "unknown",
    }
    row.update(extra)
    return row


def _bool_criterion(
    code: str, label: str, value: bool | None, want: bool, *, source: str
) -> dict[str, Any]:
    """A yes/no criterion; ``actual`` says whether the label holds, not the raw flag."""
    holds = None if value is None else value is want
    return _criterion(code, label, "是", holds, source=source, actual=holds)


def verdict_of(criteria: Sequence[Mapping[str, Any]]) -> str:
    """Verdict from criterion statuses, exactly as eligibility.md defines it."""
    statuses = [c["status"] for c in criteria]
    if "fail" in statuses:
        return "ineligible"
    if any(c["status"] == "unknown" and not c.get("needs_expert") for c in criteria):
        return "insufficient_data"
    if "unknown" in statuses:
        return "needs_review"
    return "eligible"


# --------------------------------------------------------------------------------------------
# Rule sets: what a rung's check returns and the dates a version is in force
# --------------------------------------------------------------------------------------------


@dataclass(frozen=True)
class Outcome:
    """What a rule-set function returns: the criteria plus the tech-SME score and track."""

    criteria: list[dict[str, Any]]
    score: int | None = None
    track: str = "score"


@dataclass(frozen=True)
class RuleSet:
    """One official version of one rung's criteria, in force from effective_from to effective_to."""

    kind: str
    rule_version: str
    effective_from: date
    effective_to: date | None  # last day in force, inclusive; None = still in force
    params: Mapping[str, Any]
    check: Callable[[Facts, Mapping[str, Any], Mapping[str, Any]], Outcome] = field(repr=False)
    #: how many fiscal years (counting back from the latest) the check reads, given its params
    #: and the local thresholds; forms and demo data size themselves by it
    years_read: Callable[[Mapping[str, Any], Mapping[str, Any]], int] = field(
        default=lambda _params, _local: 1, repr=False)

    def in_force(self, day: date) -> bool:
        """Whether this version governs an evaluation on ``day``."""
        ends = self.effective_to
        return self.effective_from <= day and (ends is None or day <= ends)


# --------------------------------------------------------------------------------------------
# Criteria over facts shared by several rungs
# --------------------------------------------------------------------------------------------


def _held(f: Facts, codes: Sequence[str]) -> bool | None:
    honours = f.ent("honours")
    return None if honours is None else any(code in honours for code in codes)


def _span(years: Sequence[int]) -> str:
    """Years as people read them: "2025" or "2023–2025"."""
    if not years:
        return "—"
    return str(years[0]) if len(years) == 1 else f"{years[0]}–{years[-1]}"


def _fiscal_window(f: Facts, count: int) -> list[int]:
    """The ``count`` fiscal years before as_of's year, minus those before the firm existed."""
    founded = f.ent("founded_on")
    years = range(f.as_of.year - count, f.as_of.year)
    return [y for y in years if founded is None or y >= founded.year]


def _missing_years(f: Facts, years: Sequence[int], *keys: str) -> list[int]:
    """The years among ``years`` lacking any of ``keys``, so a gap line names the right one."""
    return [y for y in years if any(f.year(y, k) is None for k in keys)]


def _sum_over(f: Facts, years: Sequence[int], key: str) -> Fraction | None:
    values = [f.year(y, key) for y in years]
    return None if not values or any(v is None for v in values) else sum(values, Fraction(0))


def _share_criterion(
    code: str,
    label: str,
    part: Fraction | None,
    whole: Fraction | None,
    min_pct: int | Fraction,
    *,
    source: str,
    data_year: int | None,
    gap_unit: str = "元",
    zero_note: str,
    part_in_whole: bool = True,
    note: str | None = None,
    **extra: Any,
) -> dict[str, Any]:
    """A "part is at least min_pct of whole" criterion; a zero whole fails with a note.

    ``part_in_whole``: whether adding to the part also adds to the whole (staff to headcount,
    domestic R&D to all R&D) or not (R&D to revenue); the gap is solved accordingly.
    """
    share = _share(part, whole)
    bar = Fraction(min_pct) / 100
    common = {
        "source": source,
        "unit": "%",
        "data_year": data_year,
        "threshold": _num(Fraction(min_pct)),
        "comparison": ">=",
        **extra,
    }
    if share is None and whole == 0:
        return _criterion(
            code,
            label,
            f">= {_pct_text(min_pct)}",
            False,
            note=zero_note if note is None else f"{note}；{zero_note}",
            **common,
        )
    gap = None
    if share is not None and share < bar:
        missing = _needed_to_reach_share(part, whole, bar) if part_in_whole else bar * whole - part
        gap = math.ceil(missing)
    return _criterion(
        code,
        label,
        f">= {_pct_text(min_pct)}",
        None if share is None else share >= bar,
        actual=None if share is None else _pct_shown(share, bar),
        gap=gap,
        gap_unit=gap_unit,
        note=note,
        **common,
    )
