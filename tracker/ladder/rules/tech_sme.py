"""科技型中小企业 (国科发政〔2017〕115号): thresholds and the score or direct-confirmation check."""

from __future__ import annotations

import math
from collections.abc import Mapping, Sequence
from fractions import Fraction
from types import MappingProxyType
from typing import Any

from tracker.ladder.rules.criteria import (
    Outcome,
    _bool_criterion,
    _criterion,
    _held,
    _needed_to_reach_share,
    _num,
    _or3,
    _pct_shown,
    _share,
    _yuan,
)
from tracker.ladder.rules.parsing import HONOURS, Facts

TECH_SME_115 = "国科发政〔2017〕115号"

TECH_SME_2017: Mapping[str, Any] = MappingProxyType(
    {
        "max_employees": 500,  # 国科发政〔2017〕115号 第六条(二) 职工总数不超过500人
        "max_revenue": 200_000_000,  # 第六条(二) 年销售收入不超过2亿元
        "max_total_assets": 200_000_000,  # 第六条(二) 资产总额不超过2亿元
        "pass_score": 60,  # 第六条(五) 综合评价得分不低于60分
        # 第七条 A 科技人员: (lower bound % inclusive, points); upper bound exclusive by order.
        "staff_bands": ((30, 20), (25, 16), (20, 12), (15, 8), (10, 4)),
        # 第七条 B 研发投入, 研发费用/销售收入 (企业择一)
        "rd_revenue_bands": ((6, 50), (5, 40), (4, 30), (3, 20), (2, 10)),
        # 第七条 B 研发投入, 研发费用/成本费用支出总额 (企业择一)
        "rd_cost_bands": ((30, 50), (25, 40), (20, 30), (15, 20), (10, 10)),
        "class1_points": 30,  # 第七条 C 拥有1项及以上Ⅰ类知识产权
        "class2_bands": ((4, 24), (3, 18), (2, 12), (1, 6)),  # 第七条 C Ⅱ类知识产权项数
        # 第八条 直接确认条件 (any one, with 第六条(一)-(四))
        "direct_honours": (
            "hnte_valid",
            "national_award_top3_5y",
            "provincial_rd_institution",
            "led_standard_5y",
        ),
    }
)
# --------------------------------------------------------------------------------------------
# 科技型中小企业 (国科发政〔2017〕115号)
# --------------------------------------------------------------------------------------------


def band_points(ratio: Fraction, bands: Sequence[tuple[int, int]]) -> int:
    """Points for a ratio: bands are (lower % inclusive, points) from the top, upper exclusive."""
    for lower_pct, points in bands:
        if ratio >= Fraction(lower_pct, 100):
            return points
    return 0


def ip_points(class1: int, class2: int, params: Mapping[str, Any] = TECH_SME_2017) -> int:
    """Tech-SME score C (科技成果) from Class I / Class II IP counts (第七条 C)."""
    if class1 >= 1:
        return params["class1_points"]
    for minimum, points in params["class2_bands"]:
        if class2 >= minimum:
            return points
    return 0


def _check_tech_sme(f: Facts, p: Mapping[str, Any], _local: Mapping[str, Any]) -> Outcome:
    src = TECH_SME_115
    y = f.latest_year
    employees, tech = f.year(y, "employees"), f.year(y, "tech_staff")
    revenue, assets = f.year(y, "revenue"), f.year(y, "total_assets")
    cost, rd = f.year(y, "total_cost"), f.year(y, "rd_expense")
    criteria = [
        _bool_criterion(
            "resident_enterprise",
            "在中国境内（不含港澳台）注册的居民企业",
            f.ent("resident_enterprise"),
            True,
            source=f"{src} 第六条(一)",
        ),
    ]
    for code, label, value, cap, unit in (
        (
            "employees_cap",
            f"职工总数不超过{p['max_employees']}人",
            employees,
            p["max_employees"],
            "人",
        ),
        (
            "revenue_cap",
            f"年销售收入不超过{_yuan(p['max_revenue'])}",
            revenue,
            p["max_revenue"],
            "元",
        ),
        (
            "assets_cap",
            f"资产总额不超过{_yuan(p['max_total_assets'])}",
            assets,
            p["max_total_assets"],
            "元",
        ),
    ):
        required = f"<= {cap}" if unit == "人" else f"<= {_yuan(cap)}"
        criteria.append(
            _criterion(
                code,
                label,
                required,
                None if value is None else value <= cap,
                source=f"{src} 第六条(二)",
                actual=_num(value),
                unit=unit,
                data_year=y,
                threshold=cap,
                comparison="<=",
                gap=_num(value - cap) if value is not None else None,
                gap_unit=unit,
            )
        )
    criteria.append(
        _bool_criterion(
            "industry_not_restricted",
            "产品和服务不属于国家禁止、限制和淘汰类",
            f.ent("restricted_industry"),
            False,
            source=f"{src} 第六条(三)",
        )
    )
    criteria.append(
        _bool_criterion(
            "integrity_clean",
            "上年度至今未发生重大安全、质量事故和严重环境违法、科研严重失信行为，"
            "且未列入经营异常名录和严重违法失信企业名单",
            f.ent("integrity_record_clean"),
            True,
            source=f"{src} 第六条(四)",
        )
    )

    # 第七条 scoring. Each part is a (low, high) bound so a partly known firm can still pass or
    # fail for sure; the score is reported only when both bounds meet.
    staff_top = p["staff_bands"][0][1]
    # No employees means no S&T staff share to score.
    staff_ratio = Fraction(0) if employees == 0 else _share(tech, employees)
    staff = None if staff_ratio is None else band_points(staff_ratio, p["staff_bands"])
    staff_bounds = (0, staff_top) if staff is None else (staff, staff)

    rd_top = max(p["rd_revenue_bands"][0][1], p["rd_cost_bands"][0][1])
    rd_options = []
    for denominator, bands in ((revenue, p["rd_revenue_bands"]), (cost, p["rd_cost_bands"])):
        if rd is None or denominator is None:
            rd_options.append(None)
        else:  # A zero denominator gives no ratio to claim, so that option earns nothing.
            rd_options.append(band_points(rd / denominator, bands) if denominator else 0)
    known = [o for o in rd_options if o is not None]
    rd_points = max(known) if len(known) == 2 or rd_top in known else None
    rd_bounds = (rd_points, rd_points) if rd_points is not None else (max(known, default=0), rd_top)

    class1, class2 = f.ent("class1_ip"), f.ent("class2_ip")
    ip_top = p["class1_points"]
    if (class1 is not None and class2 is not None) or (class1 or 0) >= 1:
        ip = ip_points(class1 or 0, class2 or 0, p)
        ip_bounds = (ip, ip)
    elif class1 == 0:
        ip, ip_bounds = None, (0, p["class2_bands"][0][1])
    else:
        ip, ip_bounds = None, (ip_points(0, class2 or 0, p), ip_top)

    low = staff_bounds[0] + rd_bounds[0] + ip_bounds[0]
    high = staff_bounds[1] + rd_bounds[1] + ip_bounds[1]
    score = low if low == high else None

    direct = _held(f, p["direct_honours"])
    direct_note = None
    if direct:
        held = [HONOURS[h] for h in p["direct_honours"] if h in f.ent("honours")]
        direct_note = f"符合第八条直接确认条件（{'；'.join(held)}），可直接确认"
    pass_score = p["pass_score"]
    criteria.append(
        _criterion(
            "composite_score",
            f"综合评分不低于{pass_score}分",
            f">= {pass_score} 分（或符合第八条直接确认条件）",
            _or3(direct, True if low >= pass_score else (False if high < pass_score else None)),
            source=f"{src} 第六条(五)、第七条、第八条",
            actual=score,
            unit="分",
            data_year=y,
            threshold=pass_score,
            comparison=">=",
            gap=pass_score - high,
            gap_unit="分",
            note=direct_note,
            parts={"staff": staff, "rd": rd_points, "ip": ip},
        )
    )

    min_staff_pct = p["staff_bands"][-1][0]
    staff_gap = None
    if staff_ratio is not None and employees:
        staff_gap = math.ceil(_needed_to_reach_share(tech, employees, Fraction(min_staff_pct, 100)))
    staff_ok = None if staff is None else staff > 0
    criteria.append(
        _criterion(
            "staff_points",
            f"科技人员指标得分不为0（科技人员占职工总数比例不低于{min_staff_pct}%）",
            f">= {min_staff_pct}%（或符合第八条直接确认条件）",
            _or3(direct, staff_ok),
            source=f"{src} 第六条(五)、第七条A",
            actual=None if staff_ratio is None else _pct_shown(
                staff_ratio, Fraction(min_staff_pct, 100)),
            unit="%",
            data_year=y,
            threshold=min_staff_pct,
            comparison=">=",
            gap=staff_gap,
            gap_unit="人",
            note=direct_note,
        )
    )
    return Outcome(criteria, score=score, track="direct" if direct else "score")

