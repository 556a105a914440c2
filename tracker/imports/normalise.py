"""Turning messy spreadsheet cells into clean values; each parser raises CellError saying why.

Pure functions (no Flask, no database) so every normalisation is table-tested on its own.
"""

from __future__ import annotations

import re
import unicodedata
from datetime import date, datetime, timedelta
from decimal import ROUND_HALF_UP, Decimal, InvalidOperation
from typing import Any

from tracker.enterprises import uscc as uscc_rules
from tracker.enterprises.zones import ZONES, zone_from_text
from tracker.incubation.models import GRADUATION_BASES, TENANCY_STATUSES
from tracker.messages import Message
from tracker.money import wan_to_yuan
from tracker.vocabulary import KINDS, TECH_FIELDS

CENT = Decimal("0.01")
#: Excel's day zero for the 1900 date system (serial 60 is the phantom 1900-02-29)
_EXCEL_EPOCH = date(1899, 12, 30)


class CellError(ValueError):
    """A cell that cannot be used; the message says what was expected."""


def is_blank(value: Any) -> bool:
    return value is None or (isinstance(value, str) and not value.strip())


def cell_text(value: Any) -> str:
    """How a cell is shown back to the user in an error (formulas stay plain text)."""
    if value is None:
        return ""
    if isinstance(value, datetime):
        return value.date().isoformat() if value.time() == datetime.min.time() \
            else value.isoformat(sep=" ")
    if isinstance(value, date):
        return value.isoformat()
    if isinstance(value, float) and value.is_integer():
        return str(int(value))
    return str(value)[:200]


def text(value: Any) -> str:
    """Trimmed text, full-width spaces folded; a formula-looking cell is kept verbatim as text."""
    if isinstance(value, float) and value.is_integer():
        value = int(value)
    raw = cell_text(value) if not isinstance(value, str) else value
    return re.sub(r"\s+", " ", raw.replace("\u3000", " ")).strip()


def uscc(value: Any) -> str:
    code = uscc_rules.normalise(cell_text(value))
    problem = uscc_rules.problem(code)
    if problem is not None:
        raise CellError(problem.message)
    return code


_DATE_PATTERNS = (
    re.compile(r"^(\d{4})\s*年\s*(\d{1,2})\s*月\s*(\d{1,2})\s*日?$"),
    re.compile(r"^(\d{4})[-/.](\d{1,2})[-/.](\d{1,2})(?:[ T]\d{1,2}:\d{2}(?::\d{2})?)?$"),
    re.compile(r"^(\d{4})(\d{2})(\d{2})$"),
)
DATE_EXPECTED = "应为日期，如 2019-03-05、2019/03/05 或 2019年3月5日"


def parse_date(value: Any) -> date:
    """Excel date cells, 2019年3月5日, 2019/03/05, 2019-03-05, 2019.03.05, 20190305."""
    if isinstance(value, datetime):
        return value.date()
    if isinstance(value, date):
        return value
    if isinstance(value, int | float) and not isinstance(value, bool):
        # A date typed into a cell formatted as a number: Excel's serial day count.
        if 1 <= value < 2958466:
            return _EXCEL_EPOCH + timedelta(days=int(value))
        raise CellError(Message(DATE_EXPECTED))
    raw = unicodedata.normalize("NFKC", str(value)).strip()
    for pattern in _DATE_PATTERNS:
        match = pattern.match(raw)
        if match:
            year, month, day = (int(g) for g in match.groups())
            try:
                return date(year, month, day)
            except ValueError:
                raise CellError(Message("不存在的日期；" + DATE_EXPECTED)) from None
    raise CellError(Message(DATE_EXPECTED))


def _number_text(value: Any) -> str:
    raw = unicodedata.normalize("NFKC", str(value)).strip()
    # thousands separators (1,234 / 1，234 / 1 234) and a trailing unit are tolerated
    raw = re.sub(r"[,\s']", "", raw)
    return re.sub(r"(万元|元|人|个|项|件|平方米|㎡|m2)$", "", raw)


def decimal_value(value: Any) -> Decimal:
    if isinstance(value, bool):
        raise CellError(Message("应为数字"))
    if isinstance(value, Decimal):
        return value
    if isinstance(value, int):
        return Decimal(value)
    if isinstance(value, float):
        return Decimal(repr(value))  # shortest round-trip text: 1234.56, not 1234.5599999...
    try:
        number = Decimal(_number_text(value))
    except InvalidOperation:
        raise CellError(Message("应为数字，可带千位分隔符，如 1,234.56")) from None
    if not number.is_finite():
        raise CellError(Message("应为数字，可带千位分隔符，如 1,234.56"))
    return number


def count(value: Any) -> int:
    number = decimal_value(value)
    if number != number.to_integral_value():
        raise CellError(Message("应为整数"))
    if number < 0:
        raise CellError(Message("不能为负数"))
    return int(number)


def money_yuan(value: Any) -> Decimal:
    number = decimal_value(value)
    if number < 0:
        raise CellError(Message("金额不能为负数"))
    return number.quantize(CENT, rounding=ROUND_HALF_UP)


def money_wan(value: Any) -> Decimal:
    """万元 -> 元, exactly (Decimal arithmetic, rounded to the fen)."""
    number = decimal_value(value)
    if number < 0:
        raise CellError(Message("金额不能为负数"))
    return wan_to_yuan(number)


def area(value: Any) -> Decimal:
    number = decimal_value(value)
    if number < 0:
        raise CellError(Message("面积不能为负数"))
    return number.quantize(Decimal("0.1"), rounding=ROUND_HALF_UP)


#: names seen on real lists besides the code, short and full names zone_from_text knows
_ZONE_ALIASES = {
    "开发区": "teda", "泰达": "teda", "经济技术开发区": "teda", "滨海高新区": "hitech",
    "高新技术产业开发区": "hitech", "东疆保税港区": "dongjiang", "东疆港": "dongjiang",
    "中新生态城": "ecocity", "街镇": "towns",
}


def zone(value: Any) -> str:
    raw = unicodedata.normalize("NFKC", text(value))
    code = zone_from_text(raw) or zone_from_text(raw.lower()) or _ZONE_ALIASES.get(raw)
    if code is None:
        raise CellError(Message("未知的区域；应为：%(names)s",
                                names=[Message(short) for short, _full in ZONES.values()]))
    return code


def tech_field(value: Any) -> str:
    raw = unicodedata.normalize("NFKC", text(value)).replace(" ", "")
    for code, label in TECH_FIELDS.items():
        if raw in (code, label) or raw == f"{label}领域" or raw == f"{label}技术":
            return code
    raise CellError(Message("不在八大技术领域之内；应为：%(names)s",
                            names=[Message(v) for v in TECH_FIELDS.values()]))


_KIND_ALIASES = {
    "高新技术企业": "hnte", "国家级高新技术企业": "hnte", "高企": "hnte", "HNTE": "hnte",
    "科技型中小企业": "tech_sme", "科小": "tech_sme", "科技型企业": "tech_sme",
    "雏鹰": "chuying", "瞪羚": "dengling", "领军培育": "leader_cultivation",
    "科技领军(培育)企业": "leader_cultivation", "领军": "leader", "科技领军": "leader",
}


def qualification_kind(value: Any) -> str:
    raw = unicodedata.normalize("NFKC", text(value)).replace(" ", "")
    for code, label in KINDS.items():
        if raw in (code, label):
            return code
    if raw in _KIND_ALIASES:
        return _KIND_ALIASES[raw]
    if raw.upper() in _KIND_ALIASES:
        return _KIND_ALIASES[raw.upper()]
    raise CellError(Message("未知的资质类型；应为：%(names)s",
                            names=[Message(v) for v in KINDS.values()]))


def tenancy_status(value: Any) -> str:
    raw = text(value)
    aliases = {"孵化中": "incubating", "毕业": "graduated", "退出": "exited",
               "迁出": "exited", "转入下一载体": "moved_on"}
    for code, label in TENANCY_STATUSES.items():
        if raw in (code, label):
            return code
    if raw in aliases:
        return aliases[raw]
    raise CellError(Message("未知的入驻状态；应为：%(names)s",
                            names=[Message(v) for v in TENANCY_STATUSES.values()]))


def graduation_basis(value: Any) -> str:
    raw = text(value)
    for code, label in GRADUATION_BASES.items():
        if raw in (code, label):
            return code
    for needle, code in (("高新", "hnte"), ("投资", "investment"), ("收入", "revenue"),
                         ("上市", "listed"), ("并购", "listed"), ("兼并", "listed")):
        if needle in raw:
            return code
    raise CellError(Message("未知的毕业依据；应为：%(names)s",
                            names=[Message(v) for v in GRADUATION_BASES.values()]))


_EMAIL = re.compile(r"^[^@\s]+@[^@\s]+\.[^@\s]+$")


def email(value: Any) -> str:
    raw = unicodedata.normalize("NFKC", text(value)).lower()
    if not _EMAIL.match(raw):
        raise CellError(Message("邮箱格式不正确，应如 name@example.com"))
    return raw


def year(value: Any) -> int:
    raw = text(value).removesuffix("年度").removesuffix("年")
    try:
        number = count(raw)
    except CellError:
        raise CellError(Message("年度应为四位年份，如 2024")) from None
    if not 1980 <= number <= 2100:
        raise CellError(Message("年度应为四位年份，如 2024"))
    return number


def header_key(header: Any) -> str:
    """Headers compared loosely: full-width folded, spaces and required-markers dropped."""
    raw = unicodedata.normalize("NFKC", cell_text(header)).lower()
    raw = re.sub(r"\((必填|选填|可选)\)", "", raw)
    return re.sub(r"[\s*＊:：]", "", raw)
