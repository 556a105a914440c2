"""国家高新技术企业 (国科发火〔2016〕32号 第十一条): thresholds and the check."""

from __future__ import annotations

import math
from collections.abc import Mapping
from fractions import Fraction
from types import MappingProxyType
from typing import Any

from tracker.ladder.rules.criteria import (
    Outcome,
    _add_years,
    _bool_criterion,
    _criterion,
    _fiscal_window,
    _ge,
    _missing_years,
    _pct_shown,
    _share,
    _share_criterion,
    _span,
    _sum_over,
    _yuan,
)
from tracker.ladder.rules.parsing import TECH_FIELDS, Facts

HNTE_32 = "国科发火〔2016〕32号"
HNTE_GUIDE_195 = "国科发火〔2016〕195号"

HNTE_2016: Mapping[str, Any] = MappingProxyType(
    {
        "min_registered_years": 1,  # 国科发火〔2016〕32号 第十一条(一) 注册成立一年以上
        "min_core_ip": 1,  # 第十一条(二) 拥有核心支持作用的知识产权
        "min_tech_staff_pct": 10,  # 第十一条(四) 科技人员占职工总数比例不低于10%
        "rd_years": 3,  # 第十一条(五) 近三个会计年度 (实际经营期不满三年的按实际经营时间)
        # 第十一条(五) by latest-year sales revenue: (upper bound inclusive or None, min %)
        "rd_bands": ((50_000_000, 5), (200_000_000, 4), (None, 3)),
        "min_domestic_rd_pct": 60,  # 第十一条(五) 境内研发费用占全部研发费用比例不低于60%
        "min_high_tech_income_pct": 60,  # 第十一条(六) 高新技术产品(服务)收入占比不低于60%
        "min_innovation_score": 71,  # 第十一条(七), 国科发火〔2016〕195号: 70分以上(不含70分)
    }
)

# --------------------------------------------------------------------------------------------
# 国家高新技术企业 (国科发火〔2016〕32号 第十一条)
# --------------------------------------------------------------------------------------------


def hnte_rd_threshold_pct(
    latest_revenue: Fraction | int, params: Mapping[str, Any] = HNTE_2016
) -> int:
    """Minimum R&D/revenue % for HNTE by latest-year sales revenue band (第十一条(五))."""
    for upper, pct in params["rd_bands"]:
        if upper is None or latest_revenue <= upper:
            return pct
    raise AssertionError("the last HNTE R&D band has no upper bound")


def _check_hnte(f: Facts, p: Mapping[str, Any], _local: Mapping[str, Any]) -> Outcome:
    src = HNTE_32
    y = f.latest_year
    founded = f.ent("founded_on")
    criteria = []

    # (一) 注册成立一年以上: 民法典 第一千二百五十九条 "以上" includes the number itself.
    years_needed = p["min_registered_years"]
    ok = gap = required_by = None
    if founded is not None:
        required_by = _add_years(f.as_of, -years_needed)
        ok = founded <= required_by
        gap = (_add_years(founded, years_needed) - f.as_of).days
    criteria.append(
        _criterion(
            "registered_one_year",
            f"注册成立{years_needed}年以上",
            f"成立满{years_needed}年"
            + (f"（{required_by.isoformat()}及以前成立）" if required_by else ""),
            ok,
            source=f"{src} 第十一条(一)",
            actual=founded.isoformat() if founded else None,
            gap=gap,
            gap_unit="天",
        )
    )

    # (二) IP giving core support: any valid Class I or Class II counts.
    class1, class2 = f.ent("class1_ip"), f.ent("class2_ip")
    min_ip = p["min_core_ip"]
    if class1 is not None and class2 is not None:
        ip_total, ip_ok = class1 + class2, class1 + class2 >= min_ip
    else:
        ip_total = None
        ip_ok = True if (class1 or 0) >= min_ip or (class2 or 0) >= min_ip else None
    criteria.append(
        _criterion(
            "core_ip",
            "拥有对主要产品（服务）发挥核心支持作用的知识产权",
            f">= {min_ip} 项",
            ip_ok,
            source=f"{src} 第十一条(二)",
            actual=ip_total,
            unit="项",
            threshold=min_ip,
            comparison=">=",
            gap=None if ip_total is None else min_ip - ip_total,
            gap_unit="项",
        )
    )

    # (三) one of the eight fields; null means not known (eligibility.md offers no "other").
    tech_field = f.ent("tech_field")
    criteria.append(
        _criterion(
            "tech_field",
            "核心技术属于《国家重点支持的高新技术领域》",
            "八大领域之一",
            True if tech_field in TECH_FIELDS else None,
            source=f"{src} 第十一条(三)",
            actual=TECH_FIELDS.get(tech_field),
        )
    )

    # (四) S&T staff share of the latest year.
    criteria.append(
        _share_criterion(
            "tech_staff_ratio",
            f"科技人员占企业当年职工总数的比例不低于{p['min_tech_staff_pct']}%",
            f.year(y, "tech_staff"),
            f.year(y, "employees"),
            p["min_tech_staff_pct"],
            source=f"{src} 第十一条(四)",
            data_year=y,
            gap_unit="人",
            zero_note="职工总数为0",
        )
    )

    # (五) R&D over the last three fiscal years (fewer for a younger firm), bar by latest revenue.
    window = _fiscal_window(f, p["rd_years"])
    rd_sum, rev_sum = _sum_over(f, window, "rd_expense"), _sum_over(f, window, "revenue")
    latest_revenue = f.year(y, "revenue")
    ratio = _share(rd_sum, rev_sum)
    if latest_revenue is not None:
        bar_pct = hnte_rd_threshold_pct(latest_revenue, p)
        required = f">= {bar_pct}%（最近一年销售收入{_revenue_band_text(latest_revenue, p)}）"
    else:
        bar_pct = None
        required = "按最近一年销售收入分档：" + "；".join(
            f"{text} >= {pct}%" for text, pct in _revenue_bands(p)
        )
    span = _span(window)
    label = f"近{p['rd_years']}个会计年度研究开发费用总额占同期销售收入总额的比例符合要求"
    rd_source = f"{src} 第十一条(五)"
    if not window:
        criteria.append(
            _criterion(
                "rd_ratio",
                label,
                required,
                None,
                source=rd_source,
                unit="%",
                data_year=y,
                note="尚无完整会计年度",
                years=[],
            )
        )
    elif ratio is None and rev_sum == 0:
        criteria.append(
            _criterion(
                "rd_ratio",
                label,
                required,
                False,
                source=rd_source,
                unit="%",
                data_year=y,
                threshold=bar_pct,
                comparison=">=",
                note=f"{span}年度销售收入为0",
                years=window,
            )
        )
    else:
        # The latest year is always in the window, so a known ratio implies a known bar.
        ok = None if ratio is None or bar_pct is None else ratio >= Fraction(bar_pct, 100)
        gap = None
        if ok is False:
            # Extra R&D does not add to revenue, so the shortfall is simply bar x revenue - R&D.
            gap = math.ceil(Fraction(bar_pct, 100) * rev_sum - rd_sum)
        criteria.append(
            _criterion(
                "rd_ratio",
                label,
                required,
                ok,
                source=rd_source,
                actual=None if ratio is None else _pct_shown(ratio, Fraction(bar_pct, 100)),
                unit="%",
                data_year=y,
                threshold=bar_pct,
                comparison=">=",
                gap=gap,
                gap_unit="元",
                note=f"计算年度：{span}",
                years=window,
                missing_years=_missing_years(f, window, "rd_expense", "revenue"),
            )
        )

    criteria.append(
        _share_criterion(
            "domestic_rd_ratio",
            f"在中国境内发生的研究开发费用占全部研究开发费用总额的比例不低于{p['min_domestic_rd_pct']}%",
            _sum_over(f, window, "rd_expense_domestic") if window else None,
            rd_sum if window else None,
            p["min_domestic_rd_pct"],
            source=f"{src} 第十一条(五)",
            data_year=y,
            zero_note="研究开发费用为0",
            years=window,
            missing_years=_missing_years(f, window, "rd_expense", "rd_expense_domestic"),
        )
    )

    # (六) high-tech income share of the latest year's total income.
    criteria.append(
        _share_criterion(
            "high_tech_income_ratio",
            f"近一年高新技术产品（服务）收入占企业同期总收入的比例不低于{p['min_high_tech_income_pct']}%",
            f.year(y, "high_tech_income"),
            f.year(y, "total_income"),
            p["min_high_tech_income_pct"],
            source=f"{src} 第十一条(六)",
            data_year=y,
            zero_note="总收入为0",
        )
    )

    # (七) expert score; without one the rest can be right and still wait for experts.
    score, bar = f.ent("innovation_score"), p["min_innovation_score"]
    criteria.append(
        _criterion(
            "innovation_score",
            f"企业创新能力评价达到要求（{bar - 1}分以上，不含{bar - 1}分）",
            f">= {bar} 分",
            _ge(score, bar),
            source=f"{src} 第十一条(七)；{HNTE_GUIDE_195}",
            actual=score,
            unit="分",
            threshold=bar,
            comparison=">=",
            gap=None if score is None else bar - score,
            gap_unit="分",
            note="需专家评价" if score is None else None,
            needs_expert=score is None,
        )
    )

    # (八) recorded as the enterprise's integrity flag (eligibility.md).
    criteria.append(
        _bool_criterion(
            "no_major_incident",
            "申请认定前一年内未发生重大安全、重大质量事故或严重环境违法行为",
            f.ent("integrity_record_clean"),
            True,
            source=f"{src} 第十一条(八)",
        )
    )
    return Outcome(criteria)


def _revenue_bands(p: Mapping[str, Any]) -> list[tuple[str, int]]:
    """Readable HNTE revenue bands with their R&D bars, e.g. ("不超过5000万元", 5)."""
    bands, lower = [], None
    for upper, pct in p["rd_bands"]:
        if upper is None:
            text = f"超过{_yuan(lower)}"
        elif lower is None:
            text = f"不超过{_yuan(upper)}"
        else:
            text = f"超过{_yuan(lower)}且不超过{_yuan(upper)}"
        bands.append((text, pct))
        lower = upper
    return bands


def _revenue_band_text(revenue: Fraction, p: Mapping[str, Any]) -> str:
    bar = hnte_rd_threshold_pct(revenue, p)
    return next(text for text, pct in _revenue_bands(p) if pct == bar)

