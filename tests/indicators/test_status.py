"""The status rule (tracker/indicators/status.py) as a table, boundaries included.

Period 2021–2025: baseline year 2020, target year 2025. HNTE: baseline 3,270, target 5,800
(domain.md §5.2/§5.3), so the planned change is 2,530 and the band 5 % of it, 126.5.
"""

from __future__ import annotations

from decimal import Decimal as D

import pytest

from tracker.indicators.status import Status, expected, met, progress, status

BASE, END = 2020, 2025


@pytest.mark.parametrize(("year", "value"), [
    (2020, D(3270)), (2025, D(5800)), (2023, D(4788)),  # 3270 + 2530 × 3/5
    (2019, D(3270)), (2027, D(5800)),  # clamped into the period
])
def test_expected_lies_on_the_straight_path(year, value):
    assert expected(D(3270), D(5800), BASE, END, year) == value


@pytest.mark.parametrize(("actual", "target", "baseline", "year", "lower", "verdict"), [
    # higher is better, with a baseline: expected 4,788 in 2023, band ±126.5
    (D(4788), D(5800), D(3270), 2023, False, Status.ON_TRACK),
    (D("4914.5"), D(5800), D(3270), 2023, False, Status.ON_TRACK),  # upper edge: inside
    (D("4914.6"), D(5800), D(3270), 2023, False, Status.AHEAD),
    (D("4661.5"), D(5800), D(3270), 2023, False, Status.ON_TRACK),  # lower edge: inside
    (D("4661.4"), D(5800), D(3270), 2023, False, Status.BEHIND),
    (D(3270), D(5800), D(3270), 2020, False, Status.ON_TRACK),  # nothing elapsed yet
    (D(5800), D(5800), D(3270), 2025, False, Status.ON_TRACK),  # target met at the end
    (D(5600), D(5800), D(3270), 2025, False, Status.BEHIND),  # 200 short > band
    # lower is better (e.g. a cost or an emissions indicator): 100 → 60, band 2
    (D(84), D(60), D(100), 2022, True, Status.ON_TRACK),  # expected 84
    (D("81.9"), D(60), D(100), 2022, True, Status.AHEAD),
    (D(86), D(60), D(100), 2022, True, Status.ON_TRACK),  # edge: 2 above expected
    (D("86.1"), D(60), D(100), 2022, True, Status.BEHIND),
    # a hold target ("stable at 8 %"): band 5 % of the target itself, 0.4
    (D("7.6"), D(8), D(8), 2023, False, Status.ON_TRACK),
    (D("7.59"), D(8), D(8), 2023, False, Status.BEHIND),
    (D("8.41"), D(8), D(8), 2023, False, Status.AHEAD),
    # no baseline: only a met target, or a miss in the last year, gives a verdict
    (D(2100), D(2100), None, 2023, False, Status.AHEAD),
    (D(2100), D(2100), None, 2025, False, Status.ON_TRACK),
    (D(2099), D(2100), None, 2025, False, Status.BEHIND),
    (D(1500), D(2100), None, 2023, False, Status.NO_DATA),
    (D(50), D(60), None, 2024, True, Status.AHEAD),
    (D(61), D(60), None, 2025, True, Status.BEHIND),
    # missing values
    (None, D(5800), D(3270), 2023, False, Status.NO_DATA),
    (D(4000), None, D(3270), 2023, False, Status.NO_DATA),
    (None, None, None, 2025, False, Status.NO_DATA),
])
def test_status_table(actual, target, baseline, year, lower, verdict):
    assert status(actual, target, baseline, base_year=BASE, end_year=END, year=year,
                  lower_is_better=lower) == verdict


@pytest.mark.parametrize(("actual", "target", "baseline", "lower", "share"), [
    (D(4535), D(5800), D(3270), False, D("50.0")),
    (D(3270), D(5800), D(3270), False, D("0.0")),
    (D(7000), D(5800), D(3270), False, D("147.4")),  # not capped
    (D(3000), D(5800), D(3270), False, D("-10.7")),  # fell below the baseline
    (D(1050), D(2100), None, False, D("50.0")),
    (D(80), D(60), D(100), True, D("50.0")),
    (D(120), D(60), None, True, D("50.0")),
    (D(8), D(8), D(8), False, D("100.0")),
    (None, D(10), None, False, None), (D(3), None, None, False, None),
    (D(3), D(0), None, False, None), (D(0), D(60), None, True, None),
])
def test_progress(actual, target, baseline, lower, share):
    assert progress(actual, target, baseline, lower_is_better=lower) == share


@pytest.mark.parametrize(("actual", "target", "lower", "reached"), [
    (D(5800), D(5800), False, True), (D(5799), D(5800), False, False),
    (D(60), D(60), True, True), (D(61), D(60), True, False), (None, D(1), False, None),
])
def test_met(actual, target, lower, reached):
    assert met(actual, target, lower_is_better=lower) is reached
