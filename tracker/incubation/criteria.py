"""Official rules of the incubation chain as data plus small pure functions (no Flask, no DB).

Carrier recognition criteria (domain.md §4.1, §4.5–§4.8), the tenant entry rules (§4.2), the
graduation bases (§4.3) and the incubation-term arithmetic. Every threshold names its source.
"""

from __future__ import annotations

import calendar
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from datetime import date
from decimal import Decimal
from fractions import Fraction
from types import MappingProxyType

from flask_babel import gettext as _

from tracker.labels import money_text

# --------------------------------------------------------------------------------------------
# Dates: the incubation term
# --------------------------------------------------------------------------------------------


def add_months(day: date, months: int) -> date:
    """`day` plus whole months; with no such day in the target month, its last day counts.

    民法典 第二百零三条 (a period in months ends on the corresponding day; with none, the month's
    last day), so 2024-01-31 + 1 month = 2024-02-29 and 2023-01-31 + 1 month = 2023-02-28.
    """
    index = day.year * 12 + (day.month - 1) + months
    year, month = divmod(index, 12)
    month += 1
    last = calendar.monthrange(year, month)[1]
    return date(year, month, min(day.day, last))


def months_between(start: date, end: date) -> int:
    """Whole months from start to end (negative when end is earlier)."""
    months = (end.year - start.year) * 12 + (end.month - start.month)
    if months > 0 and add_months(start, months) > end:
        months -= 1
    elif months < 0 and add_months(start, months) < end:
        months += 1
    return months


# --------------------------------------------------------------------------------------------
# Tenant entry (在孵企业) — 国科发区〔2018〕300号 第九条(9), domain.md §4.2
# --------------------------------------------------------------------------------------------

ENTRY_RULES: Mapping[str, object] = MappingProxyType({
    # 第九条(9)2: 企业成立时间一般不超过24个月 (when it moves in)
    "max_age_months_at_entry": 24,
    # 第九条(9)3: 孵化时限原则上不超过48个月
    "max_term_months": 48,
    "source": "国科发区〔2018〕300号 第九条(9)",
})


def founded_too_long_ago(founded_on: date | None, moved_in_on: date) -> bool | None:
    """Whether the firm was older than 24 months on moving in (None when founding is unknown)."""
    if founded_on is None:
        return None
    return add_months(founded_on, int(ENTRY_RULES["max_age_months_at_entry"])) < moved_in_on


# --------------------------------------------------------------------------------------------
# Graduation (毕业企业) — domain.md §4.3, 国科发区〔2018〕300号 (any one basis suffices)
# --------------------------------------------------------------------------------------------

GRADUATION_SOURCE = "国科发区〔2018〕300号（毕业企业条件）"
#: cumulative angel / venture investment must exceed this (strictly), 元
GRADUATION_MIN_INVESTMENT = Decimal(5_000_000)
#: revenue of two consecutive fiscal years must total more than this (strictly), 元
GRADUATION_MIN_TWO_YEAR_REVENUE = Decimal(10_000_000)


@dataclass(frozen=True)
class GraduationFacts:
    """What the tracker knows about a firm that bears on graduating."""

    hnte_valid: bool
    #: fiscal year -> investment raised that year (元); missing years unknown
    investment_by_year: Mapping[int, Decimal] = field(default_factory=dict)
    #: fiscal year -> operating revenue (元)
    revenue_by_year: Mapping[int, Decimal] = field(default_factory=dict)


@dataclass(frozen=True)
class BasisCheck:
    """One graduation basis: met (True/False/None = not decidable from data) and the numbers."""

    basis: str
    label: str
    met: bool | None
    actual: str
    required: str
    source: str = GRADUATION_SOURCE


def _wan(amount: Decimal) -> str:
    return money_text(amount)


def best_two_year_revenue(revenue_by_year: Mapping[int, Decimal]) -> tuple[int, Decimal] | None:
    """The highest total of two consecutive fiscal years with both known: (first year, total)."""
    best: tuple[int, Decimal] | None = None
    for year, revenue in revenue_by_year.items():
        following = revenue_by_year.get(year + 1)
        if revenue is None or following is None:
            continue
        total = Decimal(revenue) + Decimal(following)
        if best is None or total > best[1]:
            best = (year, total)
    return best


def graduation_checks(facts: GraduationFacts) -> list[BasisCheck]:
    """Each §4.3 basis checked against the firm's data, in the order of the official text."""
    invested = sum((Decimal(v) for v in facts.investment_by_year.values() if v is not None),
                   Decimal(0))
    pair = best_two_year_revenue(facts.revenue_by_year)
    if pair is None:
        revenue_met, revenue_actual = None, _("缺少连续两个年度的营业收入")
    else:
        revenue_met = pair[1] > GRADUATION_MIN_TWO_YEAR_REVENUE
        revenue_actual = _("%(start)s–%(end)s年合计%(amount)s", start=pair[0], end=pair[0] + 1,
                           amount=_wan(pair[1]))
    return [
        BasisCheck("hnte", "经认定的国家高新技术企业", facts.hnte_valid,
                   _("持有有效高企资格") if facts.hnte_valid else _("无有效高企资格"),
                   _("有效的高新技术企业资格")),
        BasisCheck("investment", "累计获得天使或风险投资超过500万元",
                   invested > GRADUATION_MIN_INVESTMENT, _("累计%(amount)s", amount=_wan(invested)),
                   f"> {_wan(GRADUATION_MIN_INVESTMENT)}"),
        BasisCheck("revenue", "连续2年营业收入累计超过1000万元", revenue_met, revenue_actual,
                   f"> {_wan(GRADUATION_MIN_TWO_YEAR_REVENUE)}"),
        BasisCheck("listed", "被兼并收购或在国内外资本市场挂牌上市", None,
                   _("系统不掌握，需提交证明材料"), _("兼并收购或挂牌上市")),
    ]


def basis_met(facts: GraduationFacts, basis: str) -> bool | None:
    """Whether one named basis holds (None: only evidence can show it, e.g. a listing)."""
    for check in graduation_checks(facts):
        if check.basis == basis:
            return check.met
    raise ValueError(f"unknown graduation basis {basis!r}")


# --------------------------------------------------------------------------------------------
# Carrier recognition criteria — data tables per scheme (and kind), one pure checker
# --------------------------------------------------------------------------------------------


@dataclass(frozen=True)
class CarrierStats:
    """Figures about one carrier that the tracker can compute from its records."""

    area_m2: int | None
    workstations: int | None
    #: tenants currently incubating
    tenants: int
    #: graduates to date (graduated, or moved on with a graduation basis)
    graduates: int
    #: incubating tenants that have raised any investment (any year)
    invested_tenants: int
    #: incubating tenants holding at least one Class I or II IP in their latest figures
    ip_tenants: int
    #: tenancies resident at any time in the last twelve months
    residents_last_year: int
    #: of those, how many raised investment in the last fiscal year
    financed_last_year: int

    @property
    def tenants_per_1000m2(self) -> Fraction | None:
        """Tenant density; undefined without an area."""
        if not self.area_m2:
            return None
        return Fraction(self.tenants * 1000, self.area_m2)

    def value(self, metric: str) -> Fraction | int | None:
        """A metric by name, exact."""
        if metric == "tenants_per_1000m2":
            return self.tenants_per_1000m2
        if metric == "invested_share":
            return Fraction(self.invested_tenants, self.tenants) if self.tenants else None
        if metric == "ip_share":
            return Fraction(self.ip_tenants, self.tenants) if self.tenants else None
        return getattr(self, metric)


@dataclass(frozen=True)
class Criterion:
    """One quantitative condition: metric >= threshold (or > when strict)."""

    code: str
    label: str
    metric: str
    threshold: Fraction | int
    unit: str
    source: str
    #: when not met by our data, another route may still satisfy it (text shown to people)
    alternative: str | None = None
    #: that other route when the tracker does hold its figure: metric >= alt_threshold
    alt_metric: str | None = None
    alt_threshold: int | None = None


@dataclass(frozen=True)
class SchemeCriteria:
    """The criteria of one recognition scheme for one carrier kind."""

    scheme: str
    title: str
    #: False: values from a single secondary source or a document number not confirmed
    confirmed: bool
    note: str
    criteria: tuple[Criterion, ...]


MOST_2018 = "国科发区〔2018〕300号"
MAKER_SPACE_RULES = "《国家众创空间备案暂行规定》（文号未确认）"
TIANJIN_INCUBATOR = "天津市科技企业孵化器认定条件（文号未确认，单一来源）"
MIIT_2025 = "工信部科〔2025〕131号（广东省概述，单一来源）"

_NOT_TRACKED_2018 = ("独立法人且运营满3年、连续2年报送统计数据、孵化基金≥500万元、"
                     "专业孵化人员比例等条件需人工核对")

#: 第九条(二)(三)(五): the same for general and specialised incubators
_MOST_2018_COMMON = (
    Criterion("area", "孵化场地面积不低于10000平方米", "area_m2", 10000, "m²",
              f"{MOST_2018} 第九条(二)"),
    Criterion("invested_share", "获得投融资的在孵企业占比不低于10％", "invested_share",
              Fraction(1, 10), "%", f"{MOST_2018} 第九条(三)"),
    Criterion("ip_share", "拥有有效知识产权的在孵企业占比不低于30％", "ip_share",
              Fraction(3, 10), "%", f"{MOST_2018} 第九条(五)",
              alternative="或申请专利的在孵企业占比不低于50％（系统未跟踪）"),
)
_MOST_2018_GENERAL = SchemeCriteria(
    "most_2018_national", "国家级科技企业孵化器认定条件", True, _NOT_TRACKED_2018,
    (
        *_MOST_2018_COMMON,
        # 第九条(六)(七)
        Criterion("tenants", "在孵企业不少于50家", "tenants", 50, "家",
                  f"{MOST_2018} 第九条(六)"),
        Criterion("density", "每千平方米平均在孵企业不少于3家", "tenants_per_1000m2", 3, "家",
                  f"{MOST_2018} 第九条(六)"),
        Criterion("graduates", "累计毕业企业不少于20家", "graduates", 20, "家",
                  f"{MOST_2018} 第九条(七)"),
    ),
)
_MOST_2018_SPECIALISED = SchemeCriteria(
    "most_2018_national", "国家级专业孵化器认定条件", True, _NOT_TRACKED_2018,
    (
        *_MOST_2018_COMMON,
        # 第九条(八): the lower counts for a specialised incubator replace (六)(七)
        Criterion("tenants", "在孵企业不少于30家", "tenants", 30, "家",
                  f"{MOST_2018} 第九条(八)"),
        Criterion("density", "每千平方米平均在孵企业不少于2家", "tenants_per_1000m2", 2, "家",
                  f"{MOST_2018} 第九条(八)"),
        Criterion("graduates", "累计毕业企业不少于15家", "graduates", 15, "家",
                  f"{MOST_2018} 第九条(八)"),
    ),
)
_MAKER_SPACE = SchemeCriteria(
    "national_maker_space", "国家备案众创空间条件", True,
    "运营满18个月、新注册企业数、典型案例、专职人员与导师、活动场次等条件需人工核对",
    (
        Criterion("area", "服务场地面积不低于500平方米", "area_m2", 500, "m²",
                  f"{MAKER_SPACE_RULES} 条件(四)",
                  alternative="或创业工位不少于30个", alt_metric="workstations",
                  alt_threshold=30),
        Criterion("residents", "年入驻团队和企业不少于20家", "residents_last_year", 20, "家",
                  f"{MAKER_SPACE_RULES} 条件(五)"),
        Criterion("financed", "年获得融资的团队和企业不少于5家", "financed_last_year", 5, "家",
                  f"{MAKER_SPACE_RULES} 条件(六)",
                  alternative="或年新注册企业不少于10家（系统未跟踪）"),
    ),
)
_TIANJIN_INCUBATOR = SchemeCriteria(
    "tianjin_municipal", "天津市级孵化器条件（参考）", False,
    "数值来自单一的第三方页面，文件文号未确认；仅供参考，不作为认定依据",
    (
        Criterion("area", "孵化场地面积不低于5000平方米", "area_m2", 5000, "m²",
                  TIANJIN_INCUBATOR),
        Criterion("invested_share", "获得投融资的在孵企业占比不低于10％", "invested_share",
                  Fraction(1, 10), "%", TIANJIN_INCUBATOR),
        Criterion("tenants", "在孵企业不少于25家", "tenants", 25, "家", TIANJIN_INCUBATOR),
        Criterion("density", "每千平方米平均在孵企业不少于3家", "tenants_per_1000m2", 3, "家",
                  TIANJIN_INCUBATOR),
        Criterion("graduates", "累计毕业企业不少于5家", "graduates", 5, "家", TIANJIN_INCUBATOR),
    ),
)
_MIIT_STANDARD = SchemeCriteria(
    "miit_2025_standard", "工信部孵化器标准级条件（部分，参考）", False,
    "2025年完整条件（面积、在孵企业数、孵化期限）未确认；下列一项来自单一的省级概述",
    (
        Criterion("invested_share", "上年度获得投资的在孵企业占比不低于20％", "invested_share",
                  Fraction(1, 5), "%", MIIT_2025,
                  alternative="或获得孵化器自有基金股权投资的占比不低于10％（系统未跟踪）"),
    ),
)

#: (scheme, kind or None for any kind) -> criteria; missing pairs have none confirmed
SCHEME_CRITERIA: Mapping[tuple[str, str | None], tuple[SchemeCriteria, ...]] = MappingProxyType({
    ("most_2018_national", None): (_MOST_2018_GENERAL, _MOST_2018_SPECIALISED),
    ("national_maker_space", "maker_space"): (_MAKER_SPACE,),
    ("tianjin_municipal", "incubator"): (_TIANJIN_INCUBATOR,),
    ("miit_2025_standard", None): (_MIIT_STANDARD,),
})


def criteria_for(scheme: str, kind: str, *, specialised: bool = False) -> SchemeCriteria | None:
    """The criteria set that applies, or None when no quantitative criteria are confirmed."""
    options = SCHEME_CRITERIA.get((scheme, kind)) or SCHEME_CRITERIA.get((scheme, None))
    if not options:
        return None
    if scheme == "most_2018_national":
        return options[1] if specialised else options[0]
    return options[0]


@dataclass(frozen=True)
class CriterionResult:
    criterion: Criterion
    #: True met, False not met, None unknown (no data, or another untracked route remains)
    met: bool | None
    actual: Fraction | int | None

    @property
    def status(self) -> str:
        return "unknown" if self.met is None else ("met" if self.met else "not_met")

    @property
    def actual_text(self) -> str:
        return format_value(self.actual, self.criterion.unit)

    @property
    def required_text(self) -> str:
        return "≥ " + format_value(self.criterion.threshold, self.criterion.unit)


def format_value(value: Fraction | int | None, unit: str) -> str:
    """A number as a person reads it: shares in %, densities to one decimal."""
    if value is None:
        return "—"
    if unit == "%":
        return f"{float(value) * 100:.1f}%"
    value = Fraction(value)
    number = f"{int(value):,}" if value.denominator == 1 else f"{float(value):.2f}"
    if unit in COUNT_UNITS:  # 家 and friends are words: the catalogue says "firms"
        return _(COUNT_UNITS[unit], n=number)
    return f"{number} {unit}" if unit == "m²" else f"{number}{unit}"


#: count words as "%(n)s<unit>" catalogue entries
COUNT_UNITS = {"家": "%(n)s家", "项": "%(n)s项", "人": "%(n)s人"}


def check_criteria(rules: SchemeCriteria, stats: CarrierStats) -> list[CriterionResult]:
    """Each criterion met / not met / unknown with the carrier's number."""
    results = []
    for criterion in rules.criteria:
        actual = stats.value(criterion.metric)
        met = None if actual is None else actual >= criterion.threshold
        if not met and criterion.alt_metric:
            alt = stats.value(criterion.alt_metric)
            if alt is not None and alt >= criterion.alt_threshold:
                met = True
            elif alt is None and met is False:
                met = None  # the other route is unknown
        elif met is False and criterion.alternative:
            met = None  # may still hold through the route the tracker does not follow
        results.append(CriterionResult(criterion, met, actual))
    return results


def summary(results: Sequence[CriterionResult]) -> str:
    """met when all are met, not_met when any fails, else unknown."""
    statuses = {r.status for r in results}
    if "not_met" in statuses:
        return "not_met"
    return "unknown" if "unknown" in statuses else "met"
