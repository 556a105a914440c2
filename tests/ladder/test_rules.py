"""Table tests of the ladder rules against the official thresholds, boundaries included."""

from __future__ import annotations

import copy
import json
from datetime import date

import pytest

from tracker.ladder import gaps
from tracker.ladder.rules import (
    HONOURS,
    KINDS,
    TECH_FIELDS,
    FactsError,
    ThresholdsError,
    evaluate,
    rule_set_for,
    validate_facts,
)

AS_OF = "2026-06-30"  # latest fiscal year 2025; HNTE R&D window 2023-2025; 雏鹰 age to 2025-12-31


def year_row(**changes):
    """A healthy fiscal year: 30% S&T staff, 6% R&D, all of it domestic, 73% high-tech income."""
    row = {
        "employees": 100,
        "tech_staff": 30,
        "revenue": 40_000_000,
        "total_income": 41_000_000,
        "total_assets": 80_000_000,
        "total_cost": 35_000_000,
        "rd_expense": 2_400_000,
        "rd_expense_domestic": 2_400_000,
        "high_tech_income": 30_000_000,
    }
    if "rd_expense" in changes and "rd_expense_domestic" not in changes:
        changes["rd_expense_domestic"] = changes["rd_expense"]  # all R&D domestic unless told
    row.update(changes)
    return {k: v for k, v in row.items() if v is not ...}


def make_facts(kinds=None, latest=None, years=None, as_of=AS_OF, **enterprise):
    """Facts of a firm that meets every rung; keyword arguments change enterprise facts."""
    ent = {
        "founded_on": "2019-04-01",
        "registered_in_tianjin": True,
        "resident_enterprise": True,
        "restricted_industry": False,
        "integrity_record_clean": True,
        "tech_field": "electronic_information",
        "class1_ip": 1,
        "class2_ip": 3,
        "honours": [],
        "innovation_score": 75,
    }
    ent.update(enterprise)
    ent = {k: v for k, v in ent.items() if v is not ...}  # ... drops a key: "unknown"
    if years is None:
        years = {str(y): year_row() for y in (2022, 2023, 2024)}
        years["2025"] = year_row(**(latest or {}))
    facts = {"as_of": as_of, "enterprise": ent, "years": years}
    if kinds is not None:
        facts["kinds"] = kinds
    return facts


def run(kind, facts=None, **kwargs):
    """The one result for ``kind``."""
    facts = facts if facts is not None else make_facts()
    facts["kinds"] = [kind]
    (result,) = evaluate(facts, **kwargs)["results"]
    assert result["kind"] == kind
    return result


def crit(result, code):
    """The criterion with this code."""
    matches = [c for c in result["criteria"] if c["code"] == code]
    assert len(matches) == 1, code
    return matches[0]


def statuses(result):
    """Criterion statuses keyed by code."""
    return {c["code"]: c["status"] for c in result["criteria"]}


# ---------------------------------------------------------------------------------------------
# Shape of the result (eligibility.md)
# ---------------------------------------------------------------------------------------------


def test_default_kinds_are_all_rungs_in_ladder_order():
    result = evaluate(make_facts())
    assert result["as_of"] == AS_OF
    assert [r["kind"] for r in result["results"]] == list(KINDS)
    assert list(KINDS) == [
        "tech_sme",
        "chuying",
        "dengling",
        "hnte",
        "leader_cultivation",
        "leader",
    ]
    json.dumps(result)  # the API and the CLI print it as JSON


def test_requested_kinds_come_back_in_ladder_order():
    result = evaluate(make_facts(kinds=["hnte", "tech_sme"]))
    assert [r["kind"] for r in result["results"]] == ["tech_sme", "hnte"]


def test_every_criterion_has_the_interface_keys():
    required = {"code", "label", "required", "actual", "data_year", "status", "source", "gap"}
    for result in evaluate(make_facts())["results"]:
        assert {"kind", "rule_version", "verdict", "score", "track", "criteria"} <= set(result)
        for criterion in result["criteria"]:
            assert required <= set(criterion)
            assert criterion["status"] in ("pass", "fail", "unknown")


def test_constants_carry_chinese_labels():
    assert KINDS["chuying"] == "雏鹰企业"
    assert len(TECH_FIELDS) == 8
    assert TECH_FIELDS["advanced_manufacturing"] == "先进制造与自动化"
    assert set(HONOURS) == {
        "hnte_valid",
        "provincial_rd_institution",
        "national_award_top3_5y",
        "led_standard_5y",
        "software_certified",
        "contest_award",
        "sci_award",
        "drafted_standard",
        "vc_investment_1m",
        "sci_project",
    }


# ---------------------------------------------------------------------------------------------
# 科技型中小企业 — 国科发政〔2017〕115号
# ---------------------------------------------------------------------------------------------


def test_tech_sme_healthy_firm():
    result = run("tech_sme")
    assert result["rule_version"] == "国科发政〔2017〕115号"
    assert (result["verdict"], result["score"], result["track"]) == ("eligible", 100, "score")
    assert [c["code"] for c in result["criteria"]] == [
        "resident_enterprise",
        "employees_cap",
        "revenue_cap",
        "assets_cap",
        "industry_not_restricted",
        "integrity_clean",
        "composite_score",
        "staff_points",
    ]
    employees = crit(result, "employees_cap")
    assert (employees["required"], employees["actual"], employees["data_year"]) == (
        "<= 500",
        100,
        2025,
    )


# 第七条 A 科技人员: >=30% 20, 25-<30% 16, 20-<25% 12, 15-<20% 8, 10-<15% 4, <10% 0
@pytest.mark.parametrize(
    ("employees", "tech_staff", "points"),
    [
        (100, 30, 20),
        (300, 90, 20),  # 30% exactly
        (100, 29, 16),
        (100, 25, 16),
        (100, 24, 12),
        (100, 20, 12),
        (100, 19, 8),
        (100, 15, 8),
        (100, 14, 4),
        (100, 10, 4),
        (1000, 99, 0),
        (100, 0, 0),
    ],
)
def test_tech_sme_staff_bands(employees, tech_staff, points):
    result = run("tech_sme", make_facts(latest={"employees": employees, "tech_staff": tech_staff}))
    assert crit(result, "composite_score")["parts"]["staff"] == points


# 第七条 B 研发投入, R&D / sales revenue: >=6% 50, 5% 40, 4% 30, 3% 20, 2% 10, <2% 0
@pytest.mark.parametrize(
    ("rd_expense", "points"),
    [
        (600_000, 50),
        (599_999, 40),
        (500_000, 40),
        (499_999, 30),
        (400_000, 30),
        (399_999, 20),
        (300_000, 20),
        (299_999, 10),
        (200_000, 10),
        (199_999, 0),
    ],
)
def test_tech_sme_rd_revenue_bands(rd_expense, points):
    latest = {"revenue": 10_000_000, "total_cost": 1_000_000_000, "rd_expense": rd_expense}
    result = run("tech_sme", make_facts(latest=latest))
    assert crit(result, "composite_score")["parts"]["rd"] == points


# 第七条 B 研发投入, R&D / total cost: >=30% 50, 25% 40, 20% 30, 15% 20, 10% 10, <10% 0
@pytest.mark.parametrize(
    ("rd_expense", "points"),
    [
        (3_000_000, 50),
        (2_999_999, 40),
        (2_500_000, 40),
        (2_499_999, 30),
        (2_000_000, 30),
        (1_999_999, 20),
        (1_500_000, 20),
        (1_000_000, 10),
        (999_999, 0),
    ],
)
def test_tech_sme_rd_cost_bands(rd_expense, points):
    latest = {"revenue": 1_000_000_000, "total_cost": 10_000_000, "rd_expense": rd_expense}
    result = run("tech_sme", make_facts(latest=latest))
    assert crit(result, "composite_score")["parts"]["rd"] == points


# 第七条 B: the firm picks the better of the two ratios
@pytest.mark.parametrize(
    ("revenue", "total_cost", "points"),
    [
        (10_000_000, 1_200_000, 40),  # 3% of revenue (20) vs 25% of cost (40)
        (5_000_000, 100_000_000, 50),  # 6% of revenue (50) vs 0.3% of cost (0)
        (10_000_000, 2_000_000, 20),  # 3% of revenue (20) vs 15% of cost (20)
    ],
)
def test_tech_sme_rd_takes_the_better_ratio(revenue, total_cost, points):
    latest = {"revenue": revenue, "total_cost": total_cost, "rd_expense": 300_000}
    result = run("tech_sme", make_facts(latest=latest))
    assert crit(result, "composite_score")["parts"]["rd"] == points


def test_tech_sme_rd_ratio_exact_with_float_money():
    # 60.282 / 1004.7 is exactly 6% in decimal but 0.0599999... as a float division.
    assert 60.282 / 1004.7 < 0.06
    latest = {"revenue": 1004.7, "total_cost": 1_000_000_000, "rd_expense": 60.282}
    result = run("tech_sme", make_facts(latest=latest))
    assert crit(result, "composite_score")["parts"]["rd"] == 50


# 第七条 C 科技成果: >=1 Class I 30; Class II: >=4 24, 3 18, 2 12, 1 6, none 0
@pytest.mark.parametrize(
    ("class1", "class2", "points"),
    [
        (1, 0, 30),
        (2, 5, 30),
        (0, 4, 24),
        (0, 7, 24),
        (0, 3, 18),
        (0, 2, 12),
        (0, 1, 6),
        (0, 0, 0),
    ],
)
def test_tech_sme_ip_bands(class1, class2, points):
    result = run("tech_sme", make_facts(class1_ip=class1, class2_ip=class2))
    assert crit(result, "composite_score")["parts"]["ip"] == points


# 第六条(五) 综合评分不低于60分
@pytest.mark.parametrize(
    ("latest", "class2", "score", "verdict"),
    [
        # A 20 (30%) + B 40 (5%) + C 0 = 60: the bar itself passes
        ({"rd_expense": 2_000_000}, 0, 60, "eligible"),
        # A 16 (25%) + B 30 (4%) + C 12 (2 Class II) = 58
        ({"tech_staff": 25, "rd_expense": 1_600_000}, 2, 58, "ineligible"),
    ],
)
def test_tech_sme_pass_score_edge(latest, class2, score, verdict):
    latest = {"total_cost": 1_000_000_000, **latest}
    result = run("tech_sme", make_facts(latest=latest, class1_ip=0, class2_ip=class2))
    assert (result["score"], result["verdict"]) == (score, verdict)
    composite = crit(result, "composite_score")
    assert composite["status"] == ("pass" if score >= 60 else "fail")
    assert composite["gap"] == (None if score >= 60 else 60 - score)


def test_tech_sme_staff_points_zero_blocks_a_high_score():
    # 第六条(五): score 80 (A 0 + B 50 + C 30) but the S&T-staff sub-score is 0.
    result = run("tech_sme", make_facts(latest={"tech_staff": 9}))
    assert (result["score"], result["verdict"]) == (80, "ineligible")
    staff = crit(result, "staff_points")
    assert (staff["status"], staff["actual"], staff["required"][:5]) == ("fail", 9.0, ">= 10")
    assert (staff["gap"], staff["gap_unit"]) == (2, "人")  # 11 of 102 reaches 10%
    assert crit(result, "composite_score")["status"] == "pass"


# 第六条(二) size caps: <= 500 staff, <= 2亿 revenue, <= 2亿 assets
@pytest.mark.parametrize(
    ("code", "latest", "status", "gap"),
    [
        ("employees_cap", {"employees": 500}, "pass", None),
        ("employees_cap", {"employees": 501}, "fail", 1),
        ("revenue_cap", {"revenue": 200_000_000}, "pass", None),
        ("revenue_cap", {"revenue": 200_000_001}, "fail", 1),
        ("assets_cap", {"total_assets": 200_000_000}, "pass", None),
        ("assets_cap", {"total_assets": 250_000_000}, "fail", 50_000_000),
    ],
)
def test_tech_sme_size_caps(code, latest, status, gap):
    result = run("tech_sme", make_facts(latest=latest))
    criterion = crit(result, code)
    assert (criterion["status"], criterion["gap"]) == (status, gap)
    if status == "fail":
        assert result["verdict"] == "ineligible"


# 第六条(一)(三)(四)
@pytest.mark.parametrize(
    ("change", "code"),
    [
        ({"resident_enterprise": False}, "resident_enterprise"),
        ({"restricted_industry": True}, "industry_not_restricted"),
        ({"integrity_record_clean": False}, "integrity_clean"),
    ],
)
def test_tech_sme_basic_conditions(change, code):
    result = run("tech_sme", make_facts(**change))
    assert crit(result, code)["status"] == "fail"
    assert crit(result, code)["actual"] is False
    assert result["verdict"] == "ineligible"


# 第八条 直接确认: any one honour replaces the score when 第六条(一)-(四) hold
@pytest.mark.parametrize(
    "honour",
    ["hnte_valid", "national_award_top3_5y", "provincial_rd_institution", "led_standard_5y"],
)
def test_tech_sme_direct_qualification(honour):
    # No S&T staff and no IP: score 50 and staff points 0, yet qualified directly.
    facts = make_facts(latest={"tech_staff": 0}, class1_ip=0, class2_ip=0, honours=[honour])
    result = run("tech_sme", facts)
    assert (result["verdict"], result["track"], result["score"]) == ("eligible", "direct", 50)
    assert HONOURS[honour] in crit(result, "composite_score")["note"]


@pytest.mark.parametrize("honour", ["sci_award", "drafted_standard", "sci_project"])
def test_tech_sme_other_honours_do_not_qualify_directly(honour):
    facts = make_facts(latest={"tech_staff": 0}, class1_ip=0, class2_ip=0, honours=[honour])
    result = run("tech_sme", facts)
    assert (result["verdict"], result["track"]) == ("ineligible", "score")


def test_tech_sme_direct_track_still_needs_the_size_caps():
    facts = make_facts(latest={"employees": 501}, honours=["hnte_valid"])
    result = run("tech_sme", facts)
    assert (result["verdict"], result["track"]) == ("ineligible", "direct")


def test_tech_sme_missing_fact_gives_insufficient_data():
    result = run("tech_sme", make_facts(latest={"employees": ...}))
    assert result["verdict"] == "insufficient_data"
    assert result["score"] is None
    assert crit(result, "employees_cap")["status"] == "unknown"


def test_tech_sme_score_is_null_when_partly_known_but_pass_is_certain():
    # Class I unknown, Class II 0: A 20 + B 50 = 70 already clears 60.
    result = run("tech_sme", make_facts(class1_ip=...))
    assert (result["score"], result["verdict"]) == (None, "eligible")


def test_tech_sme_unknown_honours_matter_only_when_the_score_fails():
    assert run("tech_sme", make_facts(honours=...))["verdict"] == "eligible"
    facts = make_facts(latest={"tech_staff": 0}, honours=...)
    assert run("tech_sme", facts)["verdict"] == "insufficient_data"


# ---------------------------------------------------------------------------------------------
# 国家高新技术企业 — 国科发火〔2016〕32号 第十一条
# ---------------------------------------------------------------------------------------------


def test_hnte_healthy_firm():
    result = run("hnte")
    assert result["rule_version"] == "国科发火〔2016〕32号"
    assert (result["verdict"], result["score"]) == ("eligible", None)
    assert [c["code"] for c in result["criteria"]] == [
        "registered_one_year",
        "core_ip",
        "tech_field",
        "tech_staff_ratio",
        "rd_ratio",
        "domestic_rd_ratio",
        "high_tech_income_ratio",
        "innovation_score",
        "no_major_incident",
    ]
    assert crit(result, "rd_ratio")["years"] == [2023, 2024, 2025]


# 第十一条(五): latest-year revenue <= 5000万 -> 5%; <= 2亿 -> 4%; > 2亿 -> 3%
@pytest.mark.parametrize(
    ("revenue", "rd_expense", "bar", "status"),
    [
        (50_000_000, 2_500_000, 5, "pass"),  # 5000万 exactly is the 5% band
        (50_000_000, 2_000_000, 5, "fail"),
        (50_000_001, 2_000_001, 4, "pass"),  # just above 5000万: 4% band
        (200_000_000, 8_000_000, 4, "pass"),  # 2亿 exactly is still the 4% band
        (200_000_000, 7_999_999, 4, "fail"),
        (200_000_001, 6_000_001, 3, "pass"),  # just above 2亿: 3% band
        (200_000_001, 6_000_000, 3, "fail"),
    ],
)
def test_hnte_rd_bands_by_latest_revenue(revenue, rd_expense, bar, status):
    row = year_row(revenue=revenue, rd_expense=rd_expense, rd_expense_domestic=rd_expense)
    years = {str(y): dict(row) for y in (2023, 2024, 2025)}
    rd = crit(run("hnte", make_facts(years=years)), "rd_ratio")
    assert (rd["threshold"], rd["status"]) == (bar, status)


def test_hnte_band_follows_the_latest_year_only():
    years = {
        "2023": year_row(revenue=300_000_000, rd_expense=14_000_000, rd_expense_domestic=0),
        "2024": year_row(revenue=300_000_000, rd_expense=14_000_000, rd_expense_domestic=0),
        "2025": year_row(revenue=40_000_000),
    }
    rd = crit(run("hnte", make_facts(years=years)), "rd_ratio")
    # sum 30.4M / 640M = 4.75%: enough for 3% or 4%, but 2025's revenue puts it in the 5% band.
    assert (rd["threshold"], rd["actual"], rd["status"]) == (5, 4.75, "fail")


# 第十一条(五): ratio over the three years, 5% exactly passes, 4.99% fails
@pytest.mark.parametrize(
    ("rd_each_year", "actual", "status", "gap"),
    [(2_000_000, 5.0, "pass", None), (1_996_000, 4.99, "fail", 12_000)],
)
def test_hnte_rd_ratio_edge(rd_each_year, actual, status, gap):
    row = year_row(rd_expense=rd_each_year, rd_expense_domestic=rd_each_year)
    years = {str(y): dict(row) for y in (2023, 2024, 2025)}
    rd = crit(run("hnte", make_facts(years=years)), "rd_ratio")
    assert (rd["actual"], rd["status"], rd["gap"]) == (actual, status, gap)


def test_hnte_rd_ratio_display_never_rounds_up_to_the_bar():
    # 1,999,800 x 3 / 120M = 4.9995%: fails, so it must not read as 5.00.
    row = year_row(rd_expense=1_999_800, rd_expense_domestic=1_999_800)
    rd = crit(
        run("hnte", make_facts(years={str(y): dict(row) for y in (2023, 2024, 2025)})), "rd_ratio"
    )
    assert (rd["actual"], rd["status"]) == (4.99, "fail")


# 第十一条(五) 实际经营期不满三年的按实际经营时间计算
@pytest.mark.parametrize(
    ("founded_on", "window"),
    [("2024-03-01", [2024, 2025]), ("2025-02-01", [2025]), ("2022-12-31", [2023, 2024, 2025])],
)
def test_hnte_young_firm_uses_only_its_own_years(founded_on, window):
    years = {
        "2023": year_row(rd_expense=0, rd_expense_domestic=0),  # ignored unless in the window
        "2024": year_row(),
        "2025": year_row(),
    }
    result = run("hnte", make_facts(years=years, founded_on=founded_on))
    rd = crit(result, "rd_ratio")
    assert rd["years"] == window
    assert rd["status"] == ("fail" if 2023 in window else "pass")


# 第十一条(一) 注册成立一年以上 (on as_of 2026-06-30)
@pytest.mark.parametrize(
    ("founded_on", "status", "gap"),
    [("2025-06-30", "pass", None), ("2025-07-01", "fail", 1), ("2026-01-15", "fail", 199)],
)
def test_hnte_registered_one_year(founded_on, status, gap):
    criterion = crit(run("hnte", make_facts(founded_on=founded_on)), "registered_one_year")
    assert (criterion["status"], criterion["gap"]) == (status, gap)


# 第十一条(五) 境内研究开发费用 >= 60%
@pytest.mark.parametrize(
    ("domestic_each_year", "status", "gap"),
    [(1_440_000, "pass", None), (1_439_999, "fail", 8)],
)
def test_hnte_domestic_rd_edge(domestic_each_year, status, gap):
    row = year_row(rd_expense_domestic=domestic_each_year)
    years = {str(y): dict(row) for y in (2023, 2024, 2025)}
    criterion = crit(run("hnte", make_facts(years=years)), "domestic_rd_ratio")
    assert (criterion["status"], criterion["gap"]) == (status, gap)


# 第十一条(六) 高新技术产品（服务）收入 >= 60% of total income (41M)
@pytest.mark.parametrize(
    ("high_tech_income", "actual", "status"),
    [(24_600_000, 60.0, "pass"), (24_599_999, 59.99, "fail")],
)
def test_hnte_high_tech_income_edge(high_tech_income, actual, status):
    result = run("hnte", make_facts(latest={"high_tech_income": high_tech_income}))
    criterion = crit(result, "high_tech_income_ratio")
    assert (criterion["actual"], criterion["status"]) == (actual, status)


# 第十一条(四) 科技人员 >= 10%
@pytest.mark.parametrize(("tech_staff", "status"), [(10, "pass"), (9, "fail")])
def test_hnte_tech_staff_edge(tech_staff, status):
    result = run("hnte", make_facts(latest={"tech_staff": tech_staff}))
    assert crit(result, "tech_staff_ratio")["status"] == status


# 第十一条(七), 国科发火〔2016〕195号: 70分以上（不含70分）
@pytest.mark.parametrize(
    ("score", "status", "verdict"),
    [(70, "fail", "ineligible"), (71, "pass", "eligible"), (None, "unknown", "needs_review")],
)
def test_hnte_innovation_score(score, status, verdict):
    result = run("hnte", make_facts(innovation_score=score))
    assert crit(result, "innovation_score")["status"] == status
    assert result["verdict"] == verdict


def test_hnte_missing_score_and_missing_data_is_insufficient_data():
    facts = make_facts(innovation_score=None, latest={"high_tech_income": ...})
    assert run("hnte", facts)["verdict"] == "insufficient_data"


@pytest.mark.parametrize(
    ("change", "code", "status"),
    [
        ({"class1_ip": 0, "class2_ip": 0}, "core_ip", "fail"),
        ({"class1_ip": 0, "class2_ip": 1}, "core_ip", "pass"),
        ({"tech_field": None}, "tech_field", "unknown"),
        ({"integrity_record_clean": False}, "no_major_incident", "fail"),
    ],
)
def test_hnte_other_conditions(change, code, status):
    assert crit(run("hnte", make_facts(**change)), code)["status"] == status


def test_hnte_rd_ratio_unknown_when_a_window_year_is_missing():
    years = {"2024": year_row(), "2025": year_row()}
    result = run("hnte", make_facts(years=years))
    assert crit(result, "rd_ratio")["status"] == "unknown"
    assert result["verdict"] == "insufficient_data"


def test_hnte_rd_ratio_exact_with_float_money():
    # 50.235 / 1004.7 is exactly 5%; every band below 5000万 needs 5%.
    row = year_row(revenue=1004.7, rd_expense=50.235, rd_expense_domestic=50.235)
    rd = crit(
        run("hnte", make_facts(years={str(y): dict(row) for y in (2023, 2024, 2025)})), "rd_ratio"
    )
    assert (rd["actual"], rd["status"]) == (5.0, "pass")


# ---------------------------------------------------------------------------------------------
# 雏鹰企业 — 津科规〔2021〕3号
# ---------------------------------------------------------------------------------------------


def chuying_facts(**changes):
    """A firm meeting 雏鹰 conditions 1-3 but none of the nine items of condition 4."""
    base = {"class1_ip": 0, "class2_ip": 1, "honours": []}
    base.update(changes)
    return make_facts(**base)


def test_chuying_healthy_firm():
    result = run("chuying")
    assert result["rule_version"] == "津科规〔2021〕3号"
    assert result["verdict"] == "eligible"
    assert [c["code"] for c in result["criteria"]] == [
        "registered_in_tianjin",
        "age_within_limit",
        "integrity_clean",
        "revenue_min",
        "any_item",
    ]


# 雏鹰条件(一): registered within 8 years, counted to 31 Dec of the year before filing; firms
# registered in the filing year are excluded. Filing on 2026-06-30 -> 2017-12-31 .. 2025-12-31.
@pytest.mark.parametrize(
    ("founded_on", "status"),
    [
        ("2017-12-31", "pass"),  # exactly 8 years at 2025-12-31
        ("2017-12-30", "fail"),
        ("2025-12-31", "pass"),
        ("2026-01-01", "fail"),  # registered in the filing year
        ("2026-06-30", "fail"),
    ],
)
def test_chuying_age(founded_on, status):
    criterion = crit(run("chuying", make_facts(founded_on=founded_on)), "age_within_limit")
    assert criterion["status"] == status


def test_chuying_firm_registered_in_filing_year_says_why():
    criterion = crit(run("chuying", make_facts(founded_on="2026-03-01")), "age_within_limit")
    assert "2026年" in criterion["note"]


# 雏鹰条件(三): 上年度营业收入不低于10万元
@pytest.mark.parametrize(
    ("revenue", "status", "gap"), [(100_000, "pass", None), (99_999, "fail", 1)]
)
def test_chuying_revenue_floor(revenue, status, gap):
    criterion = crit(run("chuying", make_facts(latest={"revenue": revenue})), "revenue_min")
    assert (criterion["status"], criterion["gap"]) == (status, gap)


def test_chuying_without_any_item_is_ineligible():
    result = run("chuying", chuying_facts())
    assert crit(result, "any_item")["status"] == "fail"
    assert result["verdict"] == "ineligible"


# 雏鹰条件(四): any one of nine items
@pytest.mark.parametrize(
    ("changes", "item"),
    [
        ({"class1_ip": 1}, 1),
        ({"class2_ip": 2}, 1),
        ({"honours": ["software_certified"]}, 2),
        ({"honours": ["contest_award"]}, 3),  # with the one valid Class II IP
        ({"honours": ["hnte_valid"]}, 4),
        ({"honours": ["sci_award"]}, 5),
        ({"honours": ["national_award_top3_5y"]}, 5),
        ({"honours": ["provincial_rd_institution"]}, 6),
        ({"honours": ["drafted_standard"]}, 7),
        ({"honours": ["led_standard_5y"]}, 7),
        ({"honours": ["vc_investment_1m"]}, 8),
        ({"honours": ["sci_project"]}, 9),
    ],
)
def test_chuying_nine_items(changes, item):
    result = run("chuying", chuying_facts(**changes))
    any_item = crit(result, "any_item")
    assert [i["no"] for i in any_item["items"] if i["status"] == "pass"] == [item]
    assert (any_item["status"], result["verdict"]) == ("pass", "eligible")


def test_chuying_contest_award_needs_a_valid_ip():
    result = run("chuying", chuying_facts(class2_ip=0, honours=["contest_award"]))
    assert result["verdict"] == "ineligible"


def test_chuying_unknown_honours_leave_the_items_unknown():
    result = run("chuying", chuying_facts(honours=...))
    assert crit(result, "any_item")["status"] == "unknown"
    assert result["verdict"] == "insufficient_data"


def test_chuying_needs_tianjin_registration():
    result = run("chuying", make_facts(registered_in_tianjin=False))
    assert result["verdict"] == "ineligible"


def test_chuying_has_no_rule_set_before_2021_rules():
    result = run("chuying", make_facts(as_of="2021-07-08", founded_on="2018-01-01"))
    assert (result["rule_version"], result["verdict"]) == (None, "needs_review")
    assert rule_set_for("chuying", date(2021, 7, 9)).rule_version == "津科规〔2021〕3号"


# ---------------------------------------------------------------------------------------------
# 瞪羚 / 科技领军培育 / 科技领军 — numeric criteria unconfirmed, thresholds configured locally
# ---------------------------------------------------------------------------------------------

LOCAL_KINDS = ["dengling", "leader_cultivation", "leader"]


@pytest.mark.parametrize("kind", LOCAL_KINDS)
def test_local_kind_without_thresholds_needs_review(kind):
    result = run(kind)
    assert result["verdict"] == "needs_review"
    assert "本地配置" in result["rule_version"]
    assert statuses(result) == {
        "registered_in_tianjin": "pass",
        "integrity_clean": "pass",
        "local_thresholds": "unknown",
    }


@pytest.mark.parametrize("kind", LOCAL_KINDS)
@pytest.mark.parametrize(
    ("change", "verdict"),
    [
        ({"registered_in_tianjin": False}, "ineligible"),
        ({"integrity_record_clean": False}, "ineligible"),
        ({"registered_in_tianjin": None}, "insufficient_data"),
    ],
)
def test_local_kind_confirmed_criteria_still_decide(kind, change, verdict):
    assert run(kind, make_facts(**change))["verdict"] == verdict


@pytest.mark.parametrize(
    ("thresholds", "verdict", "code", "gap"),
    [
        ({"min_revenue": 40_000_000}, "eligible", "revenue_min", None),
        ({"min_revenue": 40_000_001}, "ineligible", "revenue_min", 1),
        ({"min_rd_intensity_pct": 6}, "eligible", "rd_intensity", None),
        ({"min_rd_intensity_pct": 6.5}, "ineligible", "rd_intensity", 200_000),
        ({"min_avg_rd_expense": 2_400_000, "rd_years": 4}, "eligible", "rd_expense_min", None),
        ({"min_avg_rd_expense": 2_500_000, "rd_years": 4}, "ineligible", "rd_expense_min", 400_000),
        ({"max_age_years": 7}, "eligible", "age_within_limit", None),  # 2019-04-01 vs 2018-12-31
        ({"max_age_years": 6}, "ineligible", "age_within_limit", None),
    ],
)
def test_local_thresholds_are_evaluated_when_set(thresholds, verdict, code, gap):
    result = run("dengling", local_thresholds={"dengling": thresholds})
    assert result["verdict"] == verdict
    criterion = crit(result, code)
    assert criterion["gap"] == gap
    assert "本地配置阈值" in criterion["source"]
    assert "local_thresholds" not in statuses(result)


def test_local_thresholds_apply_only_to_their_kind():
    result = evaluate(make_facts(), local_thresholds={"leader": {"min_revenue": 1}})
    verdicts = {r["kind"]: r["verdict"] for r in result["results"]}
    assert (verdicts["leader"], verdicts["dengling"]) == ("eligible", "needs_review")


# CAGR over three years: (rev 2025 / rev 2022)^(1/3) - 1, compared exactly
@pytest.mark.parametrize(
    ("latest_revenue", "status", "actual", "gap"),
    [(1_728_000, "pass", 20.0, None), (1_727_999, "fail", 19.99, 1)],
)
def test_local_revenue_cagr_edge(latest_revenue, status, actual, gap):
    years = {"2022": year_row(revenue=1_000_000), "2025": year_row(revenue=latest_revenue)}
    facts = make_facts(years=years)
    result = run("dengling", facts, local_thresholds={"dengling": {"min_revenue_cagr_pct": 20}})
    criterion = crit(result, "revenue_cagr")
    assert (criterion["status"], criterion["actual"], criterion["gap"]) == (status, actual, gap)


def test_local_threshold_source_is_cited():
    thresholds = {"leader": {"min_revenue": 1, "source": "2024年市科技局会议纪要"}}
    result = run("leader", local_thresholds=thresholds)
    assert (
        crit(result, "revenue_min")["source"]
        == "津科规〔2021〕3号（本地配置阈值：2024年市科技局会议纪要）"
    )


@pytest.mark.parametrize(
    ("thresholds", "field"),
    [
        ({"hnte": {"min_revenue": 1}}, "local_thresholds.hnte"),
        ({"dengling": {"min_revenue": "1000"}}, "local_thresholds.dengling.min_revenue"),
        ({"dengling": {"min_growth": 5}}, "local_thresholds.dengling.min_growth"),
        ({"leader": {"rd_years": 0}}, "local_thresholds.leader.rd_years"),
    ],
)
def test_bad_local_thresholds_are_rejected(thresholds, field):
    with pytest.raises(ThresholdsError) as raised:
        evaluate(make_facts(), local_thresholds=thresholds)
    assert [e["field"] for e in raised.value.errors] == [field]


# ---------------------------------------------------------------------------------------------
# Missing data and malformed facts
# ---------------------------------------------------------------------------------------------


def test_no_yearly_data_is_insufficient_data_not_an_error():
    facts = make_facts(years={})
    assert validate_facts(facts) == []
    verdicts = {r["kind"]: r["verdict"] for r in evaluate(facts)["results"]}
    assert verdicts["tech_sme"] == verdicts["chuying"] == verdicts["hnte"] == "insufficient_data"


def test_bare_facts_are_valid_and_unknown():
    result = evaluate({"as_of": AS_OF, "kinds": ["tech_sme"]})
    assert result["results"][0]["verdict"] == "insufficient_data"


def mutate(path, value):
    """Facts with one value replaced (dotted path) for the malformed-facts table."""
    facts = make_facts()
    *parents, leaf = path.split(".")
    node = facts
    for key in parents:
        node = node[key]
    node[leaf] = value
    return facts


@pytest.mark.parametrize(
    ("facts", "field"),
    [
        ({"kinds": ["tech_sme"]}, "as_of"),
        (mutate("as_of", "2026/06/30"), "as_of"),
        (mutate("as_of", "2026-02-30"), "as_of"),
        (mutate("kinds", ["tech_sme", "gazelle"]), "kinds.1"),
        (mutate("kinds", "tech_sme"), "kinds"),
        (mutate("enterprise.founded_on", "last spring"), "enterprise.founded_on"),
        (mutate("enterprise.founded_on", "2026-07-01"), "enterprise.founded_on"),
        (mutate("enterprise.registered_in_tianjin", "yes"), "enterprise.registered_in_tianjin"),
        (mutate("enterprise.tech_field", "artificial_intelligence"), "enterprise.tech_field"),
        (mutate("enterprise.honours", ["hnte_valid", "famous"]), "enterprise.honours.1"),
        (mutate("enterprise.honours", "hnte_valid"), "enterprise.honours"),
        (mutate("enterprise.class1_ip", -1), "enterprise.class1_ip"),
        (mutate("enterprise.class2_ip", 1.5), "enterprise.class2_ip"),
        (mutate("enterprise.innovation_score", 101), "enterprise.innovation_score"),
        (mutate("enterprise", ["not", "an", "object"]), "enterprise"),
        (mutate("years.2025.revenue", "45000000"), "years.2025.revenue"),
        (mutate("years.2025.employees", -1), "years.2025.employees"),
        (mutate("years.2025.employees", 12.5), "years.2025.employees"),
        (mutate("years.2025.employees", True), "years.2025.employees"),
        (mutate("years.2025.rd_expense", float("nan")), "years.2025.rd_expense"),
        (mutate("years.2025.tech_staff", 101), "years.2025.tech_staff"),
        (mutate("years.2025.rd_expense_domestic", 2_400_001), "years.2025.rd_expense_domestic"),
        (mutate("years.2025.high_tech_income", 41_000_001), "years.2025.high_tech_income"),
        (mutate("years.2025", 5), "years.2025"),
        (mutate("years.20x5", {}), "years.20x5"),
        (mutate("years", []), "years"),
        ("not facts", ""),
    ],
)
def test_malformed_facts_name_the_field(facts, field):
    errors = validate_facts(facts)
    assert [e["field"] for e in errors] == [field]
    assert errors[0]["message"]
    with pytest.raises(FactsError) as raised:
        evaluate(facts)
    assert raised.value.errors == errors


def test_all_errors_are_reported_at_once():
    facts = mutate("years.2025.revenue", "1")
    facts["enterprise"]["tech_field"] = "ai"
    fields = sorted(e["field"] for e in validate_facts(facts))
    assert fields == ["enterprise.tech_field", "years.2025.revenue"]


def test_nulls_and_integral_floats_are_not_malformed():
    facts = mutate("years.2025.employees", 100.0)
    facts["enterprise"]["tech_field"] = None
    facts["enterprise"]["honours"] = None
    assert validate_facts(facts) == []


# ---------------------------------------------------------------------------------------------
# The example in eligibility.md
# ---------------------------------------------------------------------------------------------

EXAMPLE = {
    "as_of": "2026-06-30",
    "kinds": ["tech_sme", "chuying", "hnte"],
    "enterprise": {
        "founded_on": "2019-04-01",
        "registered_in_tianjin": True,
        "resident_enterprise": True,
        "restricted_industry": False,
        "integrity_record_clean": True,
        "tech_field": "electronic_information",
        "class1_ip": 1,
        "class2_ip": 3,
        "honours": ["provincial_rd_institution"],
        "innovation_score": None,
    },
    "years": {
        "2025": {
            "employees": 120,
            "tech_staff": 30,
            "revenue": 45000000,
            "total_income": 46000000,
            "total_assets": 80000000,
            "total_cost": 40000000,
            "rd_expense": 3000000,
            "rd_expense_domestic": 3000000,
            "high_tech_income": 30000000,
        },
        "2024": {"...": "same keys"},
    },
}


def test_eligibility_md_example_as_written():
    result = evaluate(copy.deepcopy(EXAMPLE))
    by_kind = {r["kind"]: r for r in result["results"]}
    assert list(by_kind) == ["tech_sme", "chuying", "hnte"]
    tech_sme = by_kind["tech_sme"]
    # A 16 (25%) + B 50 (6.67% of revenue) + C 30 (Class I); the R&D institution is 第八条 direct.
    assert (tech_sme["verdict"], tech_sme["score"], tech_sme["track"]) == ("eligible", 96, "direct")
    employees = crit(tech_sme, "employees_cap")
    assert {k: employees[k] for k in ("label", "required", "actual", "data_year", "status")} == {
        "label": "职工总数不超过500人",
        "required": "<= 500",
        "actual": 120,
        "data_year": 2025,
        "status": "pass",
    }
    assert by_kind["chuying"]["verdict"] == "eligible"
    # 2023 and 2024 figures are absent, so the three-year R&D tests cannot be decided.
    hnte = by_kind["hnte"]
    assert hnte["verdict"] == "insufficient_data"
    assert crit(hnte, "rd_ratio")["status"] == "unknown"
    assert crit(hnte, "high_tech_income_ratio")["actual"] == 65.22  # 65.217…% rounded, not cut


def test_eligibility_md_example_with_full_years_needs_review():
    facts = copy.deepcopy(EXAMPLE)
    for year in ("2023", "2024"):
        facts["years"][year] = dict(facts["years"]["2025"])
    hnte = evaluate(facts)["results"][2]
    # Everything measurable passes; only the expert innovation score is missing.
    assert hnte["verdict"] == "needs_review"
    assert crit(hnte, "rd_ratio")["actual"] == 6.67


# ---------------------------------------------------------------------------------------------
# gaps.py: why-not-yet lines and near misses
# ---------------------------------------------------------------------------------------------


def test_why_not_yet_names_the_number_needed():
    result = run("tech_sme", make_facts(latest={"tech_staff": 9, "employees": 501}))
    lines = gaps.why_not_yet(result)
    assert lines == [
        "职工总数不超过500人：目前为501人，超出1人。",
        "科技人员指标得分不为0（科技人员占职工总数比例不低于10%）：目前为1.8%，还需增加46名科技人员。",
    ]


def test_why_not_yet_for_hnte_rd_shortfall_and_missing_expert_score():
    row = year_row(rd_expense=1_996_000, rd_expense_domestic=1_996_000)
    years = {str(y): dict(row) for y in (2023, 2024, 2025)}
    result = run("hnte", make_facts(years=years, innovation_score=None))
    lines = gaps.why_not_yet(result)
    assert lines[0].startswith(
        "近3个会计年度研究开发费用总额占同期销售收入总额的比例符合要求：目前为4.99%"
    )
    assert "研究开发费用还需增加1.20万元" in lines[0]
    assert lines[1] == "企业创新能力评价达到要求（70分以上，不含70分）：需专家评价。"


def test_why_not_yet_reports_missing_data():
    result = run("tech_sme", make_facts(latest={"employees": ..., "tech_staff": ...}))
    assert "职工总数不超过500人：缺少数据（2025年度），无法判断。" in gaps.why_not_yet(result)


def test_why_not_yet_is_empty_when_eligible():
    assert gaps.why_not_yet(run("hnte")) == []


@pytest.mark.parametrize(
    ("rd_each_year", "tolerance", "is_near", "margin"),
    [
        (1_840_000, "0.10", True, 0.08),  # 4.6% against 5%
        (1_800_000, "0.10", True, 0.1),  # 4.5%: exactly 10% short is still near
        (1_760_000, "0.10", False, None),  # 4.4%: 12% short
        (1_840_000, 0.05, False, None),
    ],
)
def test_near_miss_on_the_hnte_rd_ratio(rd_each_year, tolerance, is_near, margin):
    row = year_row(rd_expense=rd_each_year, rd_expense_domestic=rd_each_year)
    result = run("hnte", make_facts(years={str(y): dict(row) for y in (2023, 2024, 2025)}))
    miss = gaps.near_miss(result, tolerance)
    assert (miss is not None) == is_near
    if is_near:
        assert (miss["code"], miss["margin"], miss["gap_unit"]) == ("rd_ratio", margin, "元")
        assert miss["gap"] == 3 * (2_000_000 - rd_each_year)


def test_near_miss_needs_exactly_one_failure():
    facts = make_facts(latest={"employees": 510, "tech_staff": 160})
    assert gaps.near_miss(run("tech_sme", facts))["code"] == "employees_cap"
    facts = make_facts(latest={"employees": 510, "tech_staff": 160, "revenue": 210_000_000})
    assert gaps.near_miss(run("tech_sme", facts)) is None
    assert gaps.near_miss(run("tech_sme")) is None


def test_near_misses_and_gap_report_over_a_whole_evaluation():
    evaluation = evaluate(make_facts(latest={"employees": 510, "tech_staff": 160}))
    assert [m["kind"] for m in gaps.near_misses(evaluation)] == ["tech_sme"]
    report = gaps.gap_report(evaluation)
    assert set(report) == {"tech_sme", "dengling", "leader_cultivation", "leader"}
    assert report["dengling"] == ["量化指标（官方数值未经核实）：未配置本地阈值，需人工审核。"]
