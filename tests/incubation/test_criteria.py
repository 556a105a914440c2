"""The incubation chain's official rules: term arithmetic, graduation bases, carrier criteria."""

from datetime import date
from decimal import Decimal
from fractions import Fraction

import pytest

from tracker.incubation import criteria
from tracker.incubation.criteria import CarrierStats, GraduationFacts


@pytest.mark.parametrize(
    ("start", "months", "expected"),
    [
        (date(2024, 1, 31), 1, date(2024, 2, 29)),  # leap year: last day of February
        (date(2023, 1, 31), 1, date(2023, 2, 28)),
        (date(2024, 3, 31), 1, date(2024, 4, 30)),
        (date(2024, 1, 15), 1, date(2024, 2, 15)),
        (date(2024, 2, 29), 48, date(2028, 2, 29)),
        (date(2024, 2, 29), 12, date(2025, 2, 28)),
        (date(2023, 11, 30), 3, date(2024, 2, 29)),
        (date(2024, 12, 31), 1, date(2025, 1, 31)),
        (date(2024, 5, 31), -3, date(2024, 2, 29)),
        (date(2024, 1, 1), 48, date(2028, 1, 1)),
        (date(2024, 8, 31), 0, date(2024, 8, 31)),
    ],
)
def test_add_months_is_month_end_safe(start, months, expected):
    assert criteria.add_months(start, months) == expected


@pytest.mark.parametrize(
    ("start", "end", "months"),
    [
        (date(2022, 1, 1), date(2024, 1, 1), 24),
        (date(2022, 1, 2), date(2024, 1, 1), 23),
        (date(2024, 1, 31), date(2024, 2, 29), 1),
        (date(2024, 1, 31), date(2024, 2, 28), 0),
        (date(2024, 3, 1), date(2024, 1, 1), -2),
    ],
)
def test_months_between(start, end, months):
    assert criteria.months_between(start, end) == months


@pytest.mark.parametrize(
    ("founded", "moved_in", "too_old"),
    [
        (date(2022, 1, 1), date(2024, 1, 1), False),  # exactly 24 months: still allowed
        (date(2022, 1, 1), date(2024, 1, 2), True),
        (date(2022, 2, 28), date(2024, 2, 28), False),
        (date(2023, 6, 1), date(2023, 6, 1), False),
        (None, date(2024, 1, 1), None),
    ],
)
def test_founded_within_24_months_of_moving_in(founded, moved_in, too_old):
    assert criteria.founded_too_long_ago(founded, moved_in) is too_old


def _facts(**kwargs):
    data = {"hnte_valid": False, "investment_by_year": {}, "revenue_by_year": {}}
    data.update(kwargs)
    return GraduationFacts(**data)


@pytest.mark.parametrize(
    ("investments", "met"),
    [
        ({2023: Decimal(5_000_000)}, False),  # "超过500万元": exactly 500万 does not count
        ({2023: Decimal("5000000.01")}, True),
        ({2022: Decimal(2_000_000), 2024: Decimal(3_000_001)}, True),  # cumulative
        ({}, False),
    ],
)
def test_investment_basis_is_cumulative_and_strict(investments, met):
    assert criteria.basis_met(_facts(investment_by_year=investments), "investment") is met


@pytest.mark.parametrize(
    ("revenues", "met"),
    [
        ({2023: Decimal(5_000_000), 2024: Decimal(5_000_000)}, False),  # exactly 1000万
        ({2023: Decimal(5_000_000), 2024: Decimal("5000000.01")}, True),
        ({2022: Decimal(9_000_000), 2024: Decimal(9_000_000)}, None),  # not consecutive
        ({2021: Decimal(100), 2022: Decimal(9_999_999), 2023: Decimal(2)}, True),
        ({2024: Decimal(20_000_000)}, None),  # one year is not two
    ],
)
def test_revenue_basis_needs_two_consecutive_years(revenues, met):
    assert criteria.basis_met(_facts(revenue_by_year=revenues), "revenue") is met


def test_hnte_and_listing_bases():
    assert criteria.basis_met(_facts(hnte_valid=True), "hnte") is True
    assert criteria.basis_met(_facts(), "hnte") is False
    assert criteria.basis_met(_facts(), "listed") is None  # only evidence can show it
    with pytest.raises(ValueError, match="unknown"):
        criteria.basis_met(_facts(), "lottery")


def _stats(**kwargs):
    data = {"area_m2": 16000, "workstations": None, "tenants": 50, "graduates": 20,
            "invested_tenants": 5, "ip_tenants": 15, "residents_last_year": 50,
            "financed_last_year": 5}
    data.update(kwargs)
    return CarrierStats(**data)


def _status(results, code):
    return next(r for r in results if r.criterion.code == code).status


@pytest.mark.parametrize(
    ("overrides", "code", "status"),
    [
        ({"tenants": 50}, "tenants", "met"),
        ({"tenants": 49, "area_m2": 10000}, "tenants", "not_met"),
        ({"tenants": 48, "area_m2": 16000}, "density", "met"),  # 3.0 per 1000 m²
        ({"tenants": 47, "area_m2": 16000}, "density", "not_met"),
        ({"area_m2": None}, "density", "unknown"),
        ({"area_m2": 9999}, "area", "not_met"),
        ({"graduates": 19}, "graduates", "not_met"),
        ({"graduates": 20}, "graduates", "met"),
        ({"invested_tenants": 5, "tenants": 50}, "invested_share", "met"),  # exactly 10%
        ({"invested_tenants": 4, "tenants": 50}, "invested_share", "not_met"),
        ({"ip_tenants": 15, "tenants": 50}, "ip_share", "met"),  # 30%
        ({"ip_tenants": 14, "tenants": 50}, "ip_share", "unknown"),  # patent route untracked
    ],
)
def test_national_incubator_criteria(overrides, code, status):
    rules = criteria.criteria_for("most_2018_national", "incubator")
    assert rules.confirmed
    assert _status(criteria.check_criteria(rules, _stats(**overrides)), code) == status


def test_specialised_incubator_has_lower_bars():
    rules = criteria.criteria_for("most_2018_national", "incubator", specialised=True)
    results = criteria.check_criteria(rules, _stats(tenants=30, graduates=15, area_m2=15000))
    assert _status(results, "tenants") == "met"
    assert _status(results, "graduates") == "met"
    assert _status(results, "density") == "met"  # 2 per 1000 m²
    assert "第九条(八)" in next(r for r in results if r.criterion.code == "tenants") \
        .criterion.source


def test_maker_space_criteria_and_workstation_route():
    rules = criteria.criteria_for("national_maker_space", "maker_space")
    results = criteria.check_criteria(rules, _stats(area_m2=400, workstations=30,
                                                    residents_last_year=19))
    assert _status(results, "area") == "met"
    assert _status(results, "residents") == "not_met"
    results = criteria.check_criteria(rules, _stats(area_m2=400, workstations=None))
    assert _status(results, "area") == "unknown"
    results = criteria.check_criteria(rules, _stats(area_m2=400, workstations=29))
    assert _status(results, "area") == "not_met"


@pytest.mark.parametrize(
    ("scheme", "kind"),
    [("none", "incubator"), ("district", "incubator"), ("miit_2025_excellent", "incubator"),
     ("tianjin_municipal", "science_park"), ("none", "university_park")],
)
def test_schemes_without_confirmed_criteria(scheme, kind):
    assert criteria.criteria_for(scheme, kind) is None


def test_unconfirmed_reference_sets_are_marked():
    assert criteria.criteria_for("tianjin_municipal", "incubator").confirmed is False
    assert criteria.criteria_for("miit_2025_standard", "incubator").confirmed is False


def test_summary_and_formatting():
    rules = criteria.criteria_for("most_2018_national", "incubator")
    results = criteria.check_criteria(rules, _stats())
    assert criteria.summary(results) == "met"
    assert criteria.summary(criteria.check_criteria(rules, _stats(graduates=0))) == "not_met"
    assert criteria.format_value(Fraction(1, 10), "%") == "10.0%"
    assert criteria.format_value(Fraction(25, 8), "家") == "3.12家"
    assert criteria.format_value(16000, "m²") == "16,000 m²"
