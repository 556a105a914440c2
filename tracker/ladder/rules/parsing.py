"""Facts parsing: the vocabulary of the engine and validation of what callers send.

Pure standard-library code, shared by every rung (eligibility.md "facts").
"""

from __future__ import annotations

import math
import re
from collections.abc import Mapping
from dataclasses import dataclass
from datetime import date, datetime
from decimal import Decimal
from fractions import Fraction
from types import MappingProxyType
from typing import Any

from tracker.vocabulary import HONOURS, KINDS, TECH_FIELDS

# --------------------------------------------------------------------------------------------
# The engine's own vocabulary (kinds, fields and honours: tracker.vocabulary)
# --------------------------------------------------------------------------------------------

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

