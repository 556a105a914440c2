"""Tianjin titles 雏鹰 / 瞪羚 / 科技领军(培育) (津科规〔2021〕3号): thresholds and checks."""

from __future__ import annotations

import math
from collections.abc import Mapping
from datetime import date
from decimal import Decimal
from fractions import Fraction
from types import MappingProxyType
from typing import Any

from tracker.ladder.rules.criteria import (
    Outcome,
    _add_years,
    _and3,
    _bool_criterion,
    _criterion,
    _fiscal_window,
    _ge,
    _held,
    _missing_years,
    _num,
    _or3,
    _pct_text,
    _share_criterion,
    _span,
    _status,
    _sum_over,
    _yuan,
)
from tracker.ladder.rules.parsing import LOCAL_THRESHOLD_KEYS, Facts

TJ_LADDER_2021 = "津科规〔2021〕3号"

#: 雏鹰 condition 4: the nine alternatives (津科规〔2021〕3号). ip = (class1 or class2 minimum)
#: or ("total", n) for n valid IP of either class; honours: any one of them is needed.
CHUYING_ITEMS: tuple[Mapping[str, Any], ...] = tuple(
    MappingProxyType(item)
    for item in (
        {
            "no": 1,
            "label": "拥有1项及以上Ⅰ类或2项及以上Ⅱ类有效知识产权",
            "honours": (),
            "ip": ("class", 1, 2),
        },
        {
            "no": 2,
            "label": "拥有有效的软件企业证书和软件产品证书",
            "honours": ("software_certified",),
            "ip": None,
        },
        {
            "no": 3,
            "label": "获得创新创业大赛相应奖项且拥有1项及以上有效知识产权",
            "honours": ("contest_award",),
            "ip": ("total", 1),
        },
        {
            "no": 4,
            "label": "拥有有效的国家或天津市高新技术企业证书",
            "honours": ("hnte_valid",),
            "ip": None,
        },
        # A national top-3 S&T award is a national S&T award, so it counts here too.
        {
            "no": 5,
            "label": "获得过国家级或省部级科学技术奖励",
            "honours": ("sci_award", "national_award_top3_5y"),
            "ip": None,
        },
        {
            "no": 6,
            "label": "拥有经认定的国家级或省部级研发机构",
            "honours": ("provincial_rd_institution",),
            "ip": None,
        },
        # Leading a standard is taking part in drafting it.
        {
            "no": 7,
            "label": "参与制定国际、国家、行业、地方、团体或企业标准",
            "honours": ("drafted_standard", "led_standard_5y"),
            "ip": None,
        },
        {
            "no": 8,
            "label": "获得单笔单家100万元及以上创业投资",
            "honours": ("vc_investment_1m",),
            "ip": None,
        },
        {
            "no": 9,
            "label": "承担过国家级或省部级科技计划项目",
            "honours": ("sci_project",),
            "ip": None,
        },
    )
)

CHUYING_2021: Mapping[str, Any] = MappingProxyType(
    {
        "max_age_years": 8,  # 津科规〔2021〕3号 雏鹰条件1: 注册8年以内, 截至上年末, 当年注册的除外
        "min_revenue": 100_000,  # 雏鹰条件3: 上年度营业收入不低于10万元
        "items": CHUYING_ITEMS,  # 雏鹰条件4: 满足九项之一
    }
)
# --------------------------------------------------------------------------------------------
# 天津雏鹰 / 瞪羚 / 科技领军(培育) (津科规〔2021〕3号)
# --------------------------------------------------------------------------------------------


def _age_cutoff(f: Facts, max_years: int) -> tuple[date, date]:
    """Age counts to 31 Dec of the previous year; founded on or after the cutoff is young enough."""
    reference = date(f.as_of.year - 1, 12, 31)
    return reference, _add_years(reference, -max_years)


def _ip_rule(f: Facts, rule: tuple[Any, ...] | None) -> bool | None:
    if rule is None:
        return True
    class1, class2 = f.ent("class1_ip"), f.ent("class2_ip")
    if rule[0] == "class":
        return _or3(_ge(class1, rule[1]), _ge(class2, rule[2]))
    minimum = rule[1]
    if class1 is not None and class2 is not None:
        return class1 + class2 >= minimum
    return True if (class1 or 0) >= minimum or (class2 or 0) >= minimum else None


def _tianjin_and_integrity(
    f: Facts, tianjin_source: str, integrity_source: str
) -> list[dict[str, Any]]:
    return [
        _bool_criterion(
            "registered_in_tianjin",
            "在天津市注册的独立法人企业",
            f.ent("registered_in_tianjin"),
            True,
            source=tianjin_source,
        ),
        _bool_criterion(
            "integrity_clean",
            "申报当年及上一年度无科研严重失信行为，且未列入经营异常名录和严重违法失信企业名单",
            f.ent("integrity_record_clean"),
            True,
            source=integrity_source,
        ),
    ]


def _check_chuying(f: Facts, p: Mapping[str, Any], _local: Mapping[str, Any]) -> Outcome:
    src = TJ_LADDER_2021
    criteria = _tianjin_and_integrity(f, f"{src} 雏鹰企业条件(一)", f"{src} 雏鹰企业条件(二)")
    founded = f.ent("founded_on")
    reference, cutoff = _age_cutoff(f, p["max_age_years"])
    ok = note = None
    if founded is not None:
        ok = cutoff <= founded <= reference
        if founded > reference:
            note = f"{f.as_of.year}年（申报当年）注册的企业不参评"
    criteria.insert(
        1,
        _criterion(
            "age_within_limit",
            f"注册时间{p['max_age_years']}年以内（截至上年末，当年注册的除外）",
            f"{cutoff.isoformat()} 至 {reference.isoformat()} 之间注册",
            ok,
            source=f"{src} 雏鹰企业条件(一)",
            actual=founded.isoformat() if founded else None,
            note=note,
        ),
    )

    y, floor = f.latest_year, p["min_revenue"]
    revenue = f.year(y, "revenue")
    criteria.append(
        _criterion(
            "revenue_min",
            f"上年度营业收入不低于{_yuan(floor)}",
            f">= {_yuan(floor)}",
            _ge(revenue, floor),
            source=f"{src} 雏鹰企业条件(三)",
            actual=_num(revenue),
            unit="元",
            data_year=y,
            threshold=floor,
            comparison=">=",
            gap=None if revenue is None else _num(floor - revenue),
            gap_unit="元",
        )
    )

    items = []
    for item in p["items"]:
        honour_ok = _held(f, item["honours"]) if item["honours"] else True
        item_ok = _and3(honour_ok, _ip_rule(f, item["ip"]))
        items.append({"no": item["no"], "label": item["label"], "status": _status(item_ok)})
    met = [i["no"] for i in items if i["status"] == "pass"]
    any_ok = _or3(*(None if i["status"] == "unknown" else i["status"] == "pass" for i in items))
    criteria.append(
        _criterion(
            "any_item",
            "满足九项创新条件之一",
            ">= 1 项",
            any_ok,
            source=f"{src} 雏鹰企业条件(四)",
            actual=len(met) if any_ok is not None else None,
            unit="项",
            threshold=1,
            comparison=">=",
            gap=1,
            gap_unit="项",
            note=("已满足第" + "、".join(map(str, met)) + "项") if met else None,
            items=items,
        )
    )
    return Outcome(criteria)


def _check_local(f: Facts, _p: Mapping[str, Any], local: Mapping[str, Any]) -> Outcome:
    """Confirmed criteria plus only the thresholds an administrator has configured."""
    src = TJ_LADDER_2021
    criteria = _tianjin_and_integrity(f, src, src)
    basis = f"：{local['source']}" if local.get("source") else ""
    local_src = f"{src}（本地配置阈值{basis}）"
    set_keys = [k for k in LOCAL_THRESHOLD_KEYS if k not in ("source", "rd_years") and k in local]
    if not set_keys:
        criteria.append(
            _criterion(
                "local_thresholds",
                "量化指标（官方数值未经核实）",
                "待管理员配置本地阈值",
                None,
                source=src,
                note="未配置本地阈值，需人工审核",
                needs_expert=True,
            )
        )
        return Outcome(criteria)

    y = f.latest_year
    founded = f.ent("founded_on")
    if "max_age_years" in local:
        reference, cutoff = _age_cutoff(f, local["max_age_years"])
        criteria.append(
            _criterion(
                "age_within_limit",
                f"注册时间{local['max_age_years']}年以内（截至上年末）",
                f"{cutoff.isoformat()} 及以后注册",
                None if founded is None else founded >= cutoff,
                source=local_src,
                actual=founded.isoformat() if founded else None,
                locally_configured=True,  # the bar is ours, not an official number
            )
        )
    if "min_revenue" in local:
        floor, revenue = local["min_revenue"], f.year(y, "revenue")
        criteria.append(
            _criterion(
                "revenue_min",
                f"上年度营业收入不低于{_yuan(floor)}",
                f">= {_yuan(floor)}",
                _ge(revenue, floor),
                source=local_src,
                actual=_num(revenue),
                unit="元",
                data_year=y,
                threshold=_num(floor),
                comparison=">=",
                gap=None if revenue is None else _num(floor - revenue),
                gap_unit="元",
                locally_configured=True,  # the bar is ours, not an official number
            )
        )
    if "min_revenue_cagr_pct" in local:
        criteria.append(_cagr_criterion(f, local["min_revenue_cagr_pct"], local_src))
    # Like the HNTE window: the last rd_years fiscal years, fewer for a younger firm.
    window = _fiscal_window(f, local.get("rd_years", 1))
    span = _span(window) if window else str(y)
    rd_sum = _sum_over(f, window, "rd_expense")
    if "min_rd_intensity_pct" in local:
        criteria.append(
            _share_criterion(
                "rd_intensity",
                f"研发费用占营业收入比例不低于{_pct_text(local['min_rd_intensity_pct'])}（{span}年度）",
                rd_sum,
                _sum_over(f, window, "revenue"),
                local["min_rd_intensity_pct"],
                source=local_src,
                data_year=y,
                zero_note="营业收入为0",
                part_in_whole=False,
                locally_configured=True,  # the bar is ours, not an official number
                years=window,
                missing_years=_missing_years(f, window, "rd_expense", "revenue"),
            )
        )
    if "min_avg_rd_expense" in local:
        floor = local["min_avg_rd_expense"]
        average = None if rd_sum is None else rd_sum / len(window)
        criteria.append(
            _criterion(
                "rd_expense_min",
                f"{span}年度年均研发费用不低于{_yuan(floor)}",
                f">= {_yuan(floor)}",
                _ge(average, floor),
                source=local_src,
                actual=_num(average),
                unit="元",
                data_year=y,
                threshold=_num(floor),
                comparison=">=",
                gap=None if average is None else math.ceil((floor - average) * len(window)),
                gap_unit="元",
                locally_configured=True,  # the bar is ours, not an official number
                years=window,
                missing_years=_missing_years(f, window, "rd_expense"),
            )
        )
    return Outcome(criteria)


#: The growth rule spans three years of growth, so it reads four fiscal years (base + 3).
CAGR_SPAN = 3


def local_years_read(_params: Mapping[str, Any], local: Mapping[str, Any]) -> int:
    """Fiscal years a locally configured rung reads: the growth base, or the R&D window."""
    growth = CAGR_SPAN + 1 if "min_revenue_cagr_pct" in local else 1
    reads_rd = {"min_rd_intensity_pct", "min_avg_rd_expense"} & set(local)
    rd = local.get("rd_years", 1) if reads_rd else 1
    return max(growth, rd)


def _cagr_criterion(f: Facts, min_pct: Fraction, source: str) -> dict[str, Any]:
    """Revenue CAGR over three years, (latest / base)^(1/3) - 1, compared exactly as cubes."""
    latest_year = f.latest_year
    base_year = latest_year - CAGR_SPAN
    base, latest = f.year(base_year, "revenue"), f.year(latest_year, "revenue")
    growth = (1 + min_pct / 100) ** 3
    label = f"近三年（{base_year}–{latest_year}）营业收入复合增长率不低于{_pct_text(min_pct)}"
    common = {
        "source": source,
        "unit": "%",
        "data_year": latest_year,
        "threshold": _num(min_pct),
        "comparison": ">=",
        "locally_configured": True,
    }
    if base is None or latest is None:
        return _criterion(
            "revenue_cagr",
            label,
            f">= {_pct_text(min_pct)}",
            None,
            note=f"需要{base_year}年和{latest_year}年的营业收入",
            missing_years=_missing_years(f, (base_year, latest_year), "revenue"),
            **common,
        )
    if base == 0:
        return _criterion(
            "revenue_cagr",
            label,
            f">= {_pct_text(min_pct)}",
            None,
            note=f"{base_year}年营业收入为0，增长率无法计算，需人工审核",
            needs_expert=True,
            **common,
        )
    ok = latest / base >= growth
    shown = Decimal(((float(latest / base) ** (1 / 3)) - 1) * 100).quantize(Decimal("0.01"))
    # Float cube roots can land a hair off at the bar; keep the display on the verdict's side.
    if ok and shown < Decimal(min_pct.numerator) / min_pct.denominator:
        shown = Decimal(min_pct.numerator) / min_pct.denominator
    if not ok and shown >= Decimal(min_pct.numerator) / min_pct.denominator:
        shown -= Decimal("0.01")
    return _criterion(
        "revenue_cagr",
        label,
        f">= {_pct_text(min_pct)}",
        ok,
        actual=float(shown.quantize(Decimal("0.01"))),
        gap=math.ceil(base * growth - latest),
        gap_unit="元",
        **common,
    )

