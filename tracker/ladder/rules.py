"""Eligibility rules of the innovation ladder: facts in, a verdict per rung with reasons out.

Pure standard-library code (no Flask, no database) so the board, the gap report, the
self-assessment page, the API, the CLI and the reminders all share one engine. The interface is
fixed in eligibility.md; thresholds and their sources are in domain.md §1-§3.
"""

from __future__ import annotations

import math
import re
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass, field
from datetime import date, datetime
from decimal import Decimal
from fractions import Fraction
from types import MappingProxyType
from typing import Any

# --------------------------------------------------------------------------------------------
# Vocabulary shared with forms and templates
# --------------------------------------------------------------------------------------------

#: Rung codes in ladder order, with the label shown to people.
KINDS: Mapping[str, str] = MappingProxyType(
    {
        "tech_sme": "科技型中小企业",
        "chuying": "雏鹰企业",
        "dengling": "瞪羚企业",
        "hnte": "国家高新技术企业",
        "leader_cultivation": "科技领军培育企业",
        "leader": "科技领军企业",
    }
)

#: The eight state-supported fields, 《国家重点支持的高新技术领域》 (国科发火〔2016〕32号 附件).
TECH_FIELDS: Mapping[str, str] = MappingProxyType(
    {
        "electronic_information": "电子信息",
        "biomedicine": "生物与新医药",
        "aerospace": "航空航天",
        "new_materials": "新材料",
        "high_tech_services": "高技术服务",
        "new_energy": "新能源与节能",
        "resources_environment": "资源与环境",
        "advanced_manufacturing": "先进制造与自动化",
    }
)

#: Honours an enterprise may hold (eligibility.md "honours").
HONOURS: Mapping[str, str] = MappingProxyType(
    {
        "hnte_valid": "持有有效期内的高新技术企业证书",
        "provincial_rd_institution": "拥有省部级以上研发机构",
        "national_award_top3_5y": "近五年内获国家级科技奖励且排名前三",
        "led_standard_5y": "近五年内主导制定国际、国家或行业标准",
        "software_certified": "拥有有效的软件企业证书和软件产品证书",
        "contest_award": "获得雏鹰条件要求级别的创新创业大赛奖项",
        "sci_award": "获得过国家级或省部级科学技术奖励",
        "drafted_standard": "参与制定国际、国家、行业、地方、团体或企业标准",
        "vc_investment_1m": "获得单笔单家100万元以上创业投资",
        "sci_project": "承担过国家级或省部级科技计划项目",
    }
)

VERDICTS: tuple[str, ...] = ("eligible", "ineligible", "insufficient_data", "needs_review")
STATUSES: tuple[str, ...] = ("pass", "fail", "unknown")

#: Rungs whose numeric criteria are not confirmed officially (domain.md §3.3, §3.4, §7).
LOCALLY_CONFIGURED_KINDS: tuple[str, ...] = ("dengling", "leader_cultivation", "leader")

#: Keys an administrator may set per locally configured rung: label and unit.
LOCAL_THRESHOLD_KEYS: Mapping[str, tuple[str, str]] = MappingProxyType(
    {
        "min_revenue": ("上年度营业收入下限", "元"),
        "min_revenue_cagr_pct": ("近三年营业收入复合增长率下限", "%"),
        "min_rd_intensity_pct": ("研发费用占营业收入比例下限", "%"),
        "min_avg_rd_expense": ("年均研发费用下限", "元"),
        "rd_years": ("研发指标计算年数（默认1）", "年"),
        "max_age_years": ("注册年限上限（截至上年末）", "年"),
        "source": ("本地阈值依据（文件或会议纪要）", ""),
    }
)

_MONEY_FIELDS = (
    "revenue",
    "total_income",
    "total_assets",
    "total_cost",
    "rd_expense",
    "rd_expense_domestic",
    "high_tech_income",
)
_COUNT_FIELDS = ("employees", "tech_staff")
_BOOL_FIELDS = (
    "registered_in_tianjin",
    "resident_enterprise",
    "restricted_industry",
    "integrity_record_clean",
)
_IP_FIELDS = ("class1_ip", "class2_ip")
_DATE_RE = re.compile(r"^\d{4}-\d{2}-\d{2}$")
_YEAR_RE = re.compile(r"^\d{4}$")


class FactsError(ValueError):
    """Malformed facts; ``errors`` lists ``{"field", "message"}`` for a 422 or exit code 2."""

    def __init__(self, errors: list[dict[str, str]]) -> None:
        super().__init__("; ".join(f"{e['field']}: {e['message']}" for e in errors))
        self.errors = errors


class ThresholdsError(ValueError):
    """Malformed local-threshold configuration (an admin error, not a caller's facts error)."""

    def __init__(self, errors: list[dict[str, str]]) -> None:
        super().__init__("; ".join(f"{e['field']}: {e['message']}" for e in errors))
        self.errors = errors


# --------------------------------------------------------------------------------------------
# Parsing and validation of facts
# --------------------------------------------------------------------------------------------


@dataclass(frozen=True)
class Facts:
    """Facts after validation: dates parsed, numbers exact (Fraction), missing values None."""

    as_of: date
    kinds: tuple[str, ...]
    enterprise: Mapping[str, Any]
    years: Mapping[int, Mapping[str, Fraction]]

    @property
    def latest_year(self) -> int:
        """The fiscal year before as_of's year is the one the rules read (eligibility.md)."""
        return self.as_of.year - 1

    def ent(self, key: str) -> Any:
        """Enterprise fact or None when unknown."""
        return self.enterprise.get(key)

    def year(self, year: int, key: str) -> Fraction | None:
        """Yearly figure or None when unknown."""
        return self.years.get(year, {}).get(key)


def _exact(value: int | float | Decimal) -> Fraction:
    # Floats go through their shortest repr so 0.1 means one tenth, not the binary neighbour.
    if isinstance(value, float):
        return Fraction(Decimal(repr(value)))
    return Fraction(value)


def _is_number(value: Any) -> bool:
    if isinstance(value, bool) or not isinstance(value, int | float | Decimal):
        return False
    return not (isinstance(value, float | Decimal) and not math.isfinite(value))


def _parse_date(value: Any) -> date | None:
    if isinstance(value, datetime):
        return value.date()
    if isinstance(value, date):
        return value
    if isinstance(value, str) and _DATE_RE.match(value):
        try:
            return date.fromisoformat(value)
        except ValueError:
            return None
    return None


def _check_count(value: Any) -> str | None:
    if not _is_number(value) or (isinstance(value, float | Decimal) and value != int(value)):
        return "须为整数"
    if value < 0:
        return "不能为负数"
    return None


def _check_money(value: Any) -> str | None:
    if not _is_number(value):
        return "须为数值（单位：元），不能是字符串"
    if value < 0:
        return "不能为负数"
    return None


def _parse(facts: Any) -> tuple[Facts | None, list[dict[str, str]]]:
    errors: list[dict[str, str]] = []

    def err(path: str, message: str) -> None:
        errors.append({"field": path, "message": message})

    if not isinstance(facts, Mapping):
        return None, [{"field": "", "message": "事实数据须为 JSON 对象"}]

    as_of = _parse_date(facts.get("as_of"))
    if "as_of" not in facts or facts.get("as_of") is None:
        err("as_of", "缺少评估日期（YYYY-MM-DD）")
    elif as_of is None:
        err("as_of", "日期格式须为 YYYY-MM-DD")

    kinds: tuple[str, ...] = tuple(KINDS)
    raw_kinds = facts.get("kinds")
    if raw_kinds is not None:
        if not isinstance(raw_kinds, list | tuple):
            err("kinds", "须为类型代码列表")
        else:
            for i, code in enumerate(raw_kinds):
                if not isinstance(code, str) or code not in KINDS:
                    err(f"kinds.{i}", f"未知的资格类型：{code!r}")
            if raw_kinds:
                kinds = tuple(k for k in KINDS if k in raw_kinds)

    enterprise: dict[str, Any] = {}
    raw_ent = facts.get("enterprise")
    if raw_ent is not None and not isinstance(raw_ent, Mapping):
        err("enterprise", "须为对象")
        raw_ent = None
    raw_ent = raw_ent or {}

    founded = raw_ent.get("founded_on")
    if founded is not None:
        parsed = _parse_date(founded)
        if parsed is None:
            err("enterprise.founded_on", "日期格式须为 YYYY-MM-DD")
        elif as_of is not None and parsed > as_of:
            err("enterprise.founded_on", "成立日期晚于评估日期")
        else:
            enterprise["founded_on"] = parsed
    for key in _BOOL_FIELDS:
        value = raw_ent.get(key)
        if value is not None and not isinstance(value, bool):
            err(f"enterprise.{key}", "须为 true、false 或 null")
        elif value is not None:
            enterprise[key] = value
    tech_field = raw_ent.get("tech_field")
    if tech_field is not None:
        if isinstance(tech_field, str) and tech_field in TECH_FIELDS:
            enterprise["tech_field"] = tech_field
        else:
            err("enterprise.tech_field", f"未知的技术领域：{tech_field!r}")
    for key in _IP_FIELDS:
        value = raw_ent.get(key)
        if value is not None:
            message = _check_count(value)
            if message:
                err(f"enterprise.{key}", message)
            else:
                enterprise[key] = int(value)
    honours = raw_ent.get("honours")
    if honours is not None:
        if not isinstance(honours, list | tuple):
            err("enterprise.honours", "须为荣誉代码列表")
        else:
            bad = False
            for i, code in enumerate(honours):
                if not isinstance(code, str) or code not in HONOURS:
                    err(f"enterprise.honours.{i}", f"未知的荣誉代码：{code!r}")
                    bad = True
            if not bad:
                enterprise["honours"] = frozenset(honours)
    score = raw_ent.get("innovation_score")
    if score is not None:
        message = _check_count(score)
        if message or score > 100:
            err("enterprise.innovation_score", message or "须为0到100之间的整数")
        else:
            enterprise["innovation_score"] = int(score)

    years: dict[int, dict[str, Fraction]] = {}
    raw_years = facts.get("years")
    if raw_years is not None and not isinstance(raw_years, Mapping):
        err("years", "须为以年度为键的对象")
        raw_years = None
    for raw_year, row in (raw_years or {}).items():
        year_text = str(raw_year)
        if isinstance(raw_year, bool) or not _YEAR_RE.match(year_text):
            err(f"years.{year_text}", '年度须为四位数字，如 "2025"')
            continue
        if not isinstance(row, Mapping):
            err(f"years.{year_text}", "须为对象")
            continue
        values: dict[str, Fraction] = {}
        for key in _COUNT_FIELDS + _MONEY_FIELDS:
            value = row.get(key)
            if value is None:
                continue
            message = (_check_count if key in _COUNT_FIELDS else _check_money)(value)
            if message:
                err(f"years.{year_text}.{key}", message)
            else:
                values[key] = _exact(value)
        # Parts cannot exceed their whole; such rows would give ratios above 100%.
        for part, whole, message in (
            ("tech_staff", "employees", "科技人员数不能大于职工总数"),
            ("rd_expense_domestic", "rd_expense", "境内研发费用不能大于研发费用总额"),
            ("high_tech_income", "total_income", "高新技术产品（服务）收入不能大于总收入"),
        ):
            if part in values and whole in values and values[part] > values[whole]:
                err(f"years.{year_text}.{part}", message)
        years[int(year_text)] = values

    if errors or as_of is None:
        return None, errors
    return Facts(as_of, kinds, MappingProxyType(enterprise), MappingProxyType(years)), []


def validate_facts(facts: Any) -> list[dict[str, str]]:
    """Field errors for malformed facts (empty when valid), for forms, the API and the CLI."""
    return _parse(facts)[1]


def parse_facts(facts: Any) -> Facts:
    """Validated, normalised facts; raises FactsError so no caller evaluates garbage."""
    parsed, errors = _parse(facts)
    if errors or parsed is None:
        raise FactsError(errors)
    return parsed


def _parse_thresholds(raw: Any) -> dict[str, dict[str, Any]]:
    errors: list[dict[str, str]] = []
    out: dict[str, dict[str, Any]] = {}
    if raw is None:
        return out
    if not isinstance(raw, Mapping):
        raise ThresholdsError([{"field": "local_thresholds", "message": "须为对象"}])
    for kind, settings in raw.items():
        path = f"local_thresholds.{kind}"
        if kind not in LOCALLY_CONFIGURED_KINDS:
            errors.append({"field": path, "message": "该类型有官方阈值，不能本地配置"})
            continue
        if settings is None:
            continue
        if not isinstance(settings, Mapping):
            errors.append({"field": path, "message": "须为对象"})
            continue
        clean: dict[str, Any] = {}
        for key, value in settings.items():
            if value is None:
                continue
            if key not in LOCAL_THRESHOLD_KEYS:
                errors.append({"field": f"{path}.{key}", "message": "未知的阈值名称"})
            elif key == "source":
                if isinstance(value, str):
                    clean[key] = value
                else:
                    errors.append({"field": f"{path}.{key}", "message": "须为字符串"})
            elif key in ("rd_years", "max_age_years"):
                message = _check_count(value)
                if message or value < 1:
                    errors.append({"field": f"{path}.{key}", "message": message or "须为正整数"})
                else:
                    clean[key] = int(value)
            elif not _is_number(value) or value < 0:
                errors.append({"field": f"{path}.{key}", "message": "须为非负数值"})
            else:
                clean[key] = _exact(value)
        out[kind] = clean
    if errors:
        raise ThresholdsError(errors)
    return out


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
    """Percent with two decimals, rounded down so a failing ratio never displays as the bar."""
    return float(Decimal((ratio.numerator * 10000) // ratio.denominator).scaleb(-2))


def _num(value: Fraction | int | None) -> int | float | None:
    if value is None:
        return None
    value = Fraction(value)
    return int(value) if value.denominator == 1 else float(value)


def _yuan(amount: int | Fraction) -> str:
    """Money as people write it in notices: 2亿元, 5000万元, 10万元, else grouped 元."""
    amount = Fraction(amount)
    if amount and amount % 100_000_000 == 0:
        return f"{int(amount // 100_000_000)}亿元"
    if amount and amount % 10_000 == 0:
        return f"{int(amount // 10_000)}万元"
    return f"{_num(amount):,}元"


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
# Rule sets: data tables plus the small function that reads them
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

    def in_force(self, day: date) -> bool:
        """Whether this version governs an evaluation on ``day``."""
        ends = self.effective_to
        return self.effective_from <= day and (ends is None or day <= ends)


TECH_SME_115 = "国科发政〔2017〕115号"
HNTE_32 = "国科发火〔2016〕32号"
HNTE_GUIDE_195 = "国科发火〔2016〕195号"
TJ_LADDER_2021 = "津科规〔2021〕3号"

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


def _held(f: Facts, codes: Sequence[str]) -> bool | None:
    honours = f.ent("honours")
    return None if honours is None else any(code in honours for code in codes)


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
            actual=None if staff_ratio is None else _pct(staff_ratio),
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
        actual=None if share is None else _pct(share),
        gap=gap,
        gap_unit=gap_unit,
        note=note,
        **common,
    )


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
                actual=None if ratio is None else _pct(ratio),
                unit="%",
                data_year=y,
                threshold=bar_pct,
                comparison=">=",
                gap=gap,
                gap_unit="元",
                note=f"计算年度：{span}",
                years=window,
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
            )
        )
    return Outcome(criteria)


def _cagr_criterion(f: Facts, min_pct: Fraction, source: str) -> dict[str, Any]:
    """Revenue CAGR over three years, (latest / base)^(1/3) - 1, compared exactly as cubes."""
    latest_year = f.latest_year
    base_year = latest_year - 3
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


RULE_SETS: Mapping[str, tuple[RuleSet, ...]] = MappingProxyType(
    {
        # 国科发政〔2017〕115号, issued and in force 3 May 2017; the MIIT-run cycles since 2024
        # keep its criteria (domain.md §1.1-1.3).
        "tech_sme": (
            RuleSet(
                "tech_sme", TECH_SME_115, date(2017, 5, 3), None, TECH_SME_2017, _check_tech_sme
            ),
        ),
        # 津科规〔2021〕3号, issued 9 Jul 2021 (domain.md §3). The 2019 rules are not encoded.
        "chuying": (
            RuleSet(
                "chuying", TJ_LADDER_2021, date(2021, 7, 9), None, CHUYING_2021, _check_chuying
            ),
        ),
        "dengling": (
            RuleSet(
                "dengling",
                f"{TJ_LADDER_2021}（本地配置阈值）",
                date(2021, 7, 9),
                None,
                MappingProxyType({}),
                _check_local,
            ),
        ),
        # 国科发火〔2016〕32号, in force 1 Jan 2016 (replaced 国科发火〔2008〕172号).
        "hnte": (RuleSet("hnte", HNTE_32, date(2016, 1, 1), None, HNTE_2016, _check_hnte),),
        "leader_cultivation": (
            RuleSet(
                "leader_cultivation",
                f"{TJ_LADDER_2021}（本地配置阈值）",
                date(2021, 7, 9),
                None,
                MappingProxyType({}),
                _check_local,
            ),
        ),
        "leader": (
            RuleSet(
                "leader",
                f"{TJ_LADDER_2021}（本地配置阈值）",
                date(2021, 7, 9),
                None,
                MappingProxyType({}),
                _check_local,
            ),
        ),
    }
)


def rule_set_for(kind: str, as_of: date) -> RuleSet | None:
    """The rule-set version in force on as_of, so old evaluations replay under old rules."""
    for rule_set in RULE_SETS.get(kind, ()):
        if rule_set.in_force(as_of):
            return rule_set
    return None


# --------------------------------------------------------------------------------------------
# Entry point
# --------------------------------------------------------------------------------------------


def evaluate(
    facts: Mapping[str, Any],
    *,
    local_thresholds: Mapping[str, Mapping[str, Any]] | None = None,
) -> dict[str, Any]:
    """Verdict and per-criterion reasons for each requested rung, per eligibility.md."""
    parsed = parse_facts(facts)
    thresholds = _parse_thresholds(local_thresholds)
    results = []
    for kind in parsed.kinds:
        rule_set = rule_set_for(kind, parsed.as_of)
        if rule_set is None:
            criteria = [
                _criterion(
                    "rule_set",
                    "评估日期适用的规则版本",
                    "已录入的规则版本",
                    None,
                    source="",
                    note="评估日期没有已录入的规则版本，需人工审核",
                    needs_expert=True,
                )
            ]
            outcome = Outcome(criteria)
            version = None
        else:
            outcome = rule_set.check(parsed, rule_set.params, thresholds.get(kind, {}))
            version = rule_set.rule_version
        results.append(
            {
                "kind": kind,
                "label": KINDS[kind],
                "rule_version": version,
                "verdict": verdict_of(outcome.criteria),
                "score": outcome.score,
                "track": outcome.track,
                "criteria": outcome.criteria,
            }
        )
    return {"as_of": parsed.as_of.isoformat(), "results": results}
