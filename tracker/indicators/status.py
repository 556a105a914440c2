"""Where an indicator stands against the straight path from its baseline to its target.

Pure: numbers in, a verdict out; no Flask, no database. The rule, for a period whose baseline
is the figure of the year before its first year (`base_year`) and whose target is due in its
last year (`end_year`):

1. No actual figure or no numeric target: NO_DATA ("无数据").
2. The year of the actual figure is clamped into [base_year, end_year]; the expected figure
   that year lies on the straight line from (base_year, baseline) to (end_year, target).
3. The difference actual − expected (negated where lower is better) is compared with a band of
   TOLERANCE (5 %) of the planned change |target − baseline| (of |target| for a hold target
   such as "stable at 8 %"): above the band AHEAD, below it BEHIND, inside it (edges included)
   ON_TRACK.
4. Without a baseline the path cannot be drawn: a figure that already meets the target is
   AHEAD before the last year and ON_TRACK in it; one that misses it in the last year (or
   later) is BEHIND; otherwise NO_DATA.
"""

from __future__ import annotations

from decimal import Decimal
from enum import StrEnum

TOLERANCE = Decimal("0.05")


class Status(StrEnum):
    AHEAD = "ahead"
    ON_TRACK = "on_track"
    BEHIND = "behind"
    NO_DATA = "no_data"


#: shown to people (catalogued in tracker/indicators/translations)
STATUS_LABELS = {
    Status.AHEAD: "超前",
    Status.ON_TRACK: "符合进度",
    Status.BEHIND: "滞后",
    Status.NO_DATA: "无数据",
}


def expected(baseline: Decimal, target: Decimal, base_year: int, end_year: int,
             year: int) -> Decimal:
    """The figure on the straight path from baseline to target in `year` (clamped)."""
    span = end_year - base_year
    if span <= 0:
        return target
    elapsed = min(max(year, base_year), end_year) - base_year
    return baseline + (target - baseline) * Decimal(elapsed) / Decimal(span)


def status(actual: Decimal | None, target: Decimal | None, baseline: Decimal | None, *,
           base_year: int, end_year: int, year: int, lower_is_better: bool = False,
           tolerance: Decimal = TOLERANCE) -> Status:
    """The verdict of the module's rule for one indicator's figure of `year`."""
    if actual is None or target is None:
        return Status.NO_DATA
    sign = -1 if lower_is_better else 1
    if baseline is None:
        if sign * (actual - target) >= 0:
            return Status.ON_TRACK if year >= end_year else Status.AHEAD
        return Status.BEHIND if year >= end_year else Status.NO_DATA
    gap = sign * (actual - expected(baseline, target, base_year, end_year, year))
    change = abs(target - baseline)
    band = tolerance * (change if change else abs(target))
    if gap > band:
        return Status.AHEAD
    if gap < -band:
        return Status.BEHIND
    return Status.ON_TRACK


def progress(actual: Decimal | None, target: Decimal | None, baseline: Decimal | None, *,
             lower_is_better: bool = False) -> Decimal | None:
    """Per cent of the planned change achieved (of the target itself without a baseline).

    Not capped: 120 means the target was passed by a fifth of the planned change. None when
    there is nothing to measure against.
    """
    if actual is None or target is None:
        return None
    if baseline is not None and target != baseline:
        share = (actual - baseline) / (target - baseline)
    elif lower_is_better:
        if actual == 0:
            return None
        share = target / actual
    else:
        if target == 0:
            return None
        share = actual / target
    return (share * 100).quantize(Decimal("0.1"))


def met(actual: Decimal | None, target: Decimal | None, *, lower_is_better: bool = False
        ) -> bool | None:
    """Whether the target is reached (None without a figure or a target): a closed period's
    final verdict."""
    if actual is None or target is None:
        return None
    return actual <= target if lower_is_better else actual >= target
