"""The rules engine's words in the reader's language.

The engine is pure and speaks Chinese: its JSON (labels, requirements, notes, sources) is the
API that eligibility.md fixes, and stored results keep it. Pages translate at display time: each
engine sentence is matched against the templates below (the same sentences with their numbers
as placeholders), and the catalogue's English of the matched template is filled with the
numbers, themselves localised (money in 万元 becomes CNY). Official document numbers and titles
stay as written. A sentence no template matches is shown as it is, so a new rule never breaks
a page; tests/ladder/test_wording.py checks every engine sentence of a full evaluation matches.
"""

from __future__ import annotations

import re
from collections.abc import Mapping
from decimal import Decimal
from functools import cache
from typing import Any

from tracker.i18n import gettext
from tracker.i18n import locale as get_locale
from tracker.messages import template_pattern

#: engine sentences with their variable parts as %(name)s; most specific first, generic last
TEMPLATES: tuple[str, ...] = (
    # 科技型中小企业 (国科发政〔2017〕115号)
    "在中国境内（不含港澳台）注册的居民企业",
    "职工总数不超过%(n)s人",
    "年销售收入不超过%(money)s",
    "资产总额不超过%(money)s",
    "产品和服务不属于国家禁止、限制和淘汰类",
    "上年度至今未发生重大安全、质量事故和严重环境违法、科研严重失信行为，"
    "且未列入经营异常名录和严重违法失信企业名单",
    "符合第八条直接确认条件（%(held)s），可直接确认",
    "综合评分不低于%(n)s分",
    ">= %(n)s 分（或符合第八条直接确认条件）",
    "科技人员指标得分不为0（科技人员占职工总数比例不低于%(pct)s%%）",
    ">= %(pct)s%%（或符合第八条直接确认条件）",
    # 国家高新技术企业 (国科发火〔2016〕32号)
    "注册成立%(n)s年以上",
    "成立满%(n)s年（%(date)s及以前成立）",
    "成立满%(n)s年",
    "拥有对主要产品（服务）发挥核心支持作用的知识产权",
    "核心技术属于《国家重点支持的高新技术领域》",
    "八大领域之一",
    "科技人员占企业当年职工总数的比例不低于%(pct)s%%",
    "职工总数为0",
    ">= %(pct)s%%（最近一年销售收入%(band)s）",
    "按最近一年销售收入分档：%(bands)s",
    "近%(n)s个会计年度研究开发费用总额占同期销售收入总额的比例符合要求",
    "尚无完整会计年度",
    "%(span)s年度销售收入为0",
    "计算年度：%(span)s",
    "在中国境内发生的研究开发费用占全部研究开发费用总额的比例不低于%(pct)s%%",
    "研究开发费用为0",
    "近一年高新技术产品（服务）收入占企业同期总收入的比例不低于%(pct)s%%",
    "总收入为0",
    "企业创新能力评价达到要求（%(n)s分以上，不含%(n)s分）",
    "需专家评价",
    "申请认定前一年内未发生重大安全、重大质量事故或严重环境违法行为",
    "超过%(low)s且不超过%(high)s",
    "不超过%(money)s",
    "超过%(money)s",
    # 天津 雏鹰 / 瞪羚 / 科技领军 (津科规〔2021〕3号)
    "拥有1项及以上Ⅰ类或2项及以上Ⅱ类有效知识产权",
    "拥有有效的软件企业证书和软件产品证书",
    "获得创新创业大赛相应奖项且拥有1项及以上有效知识产权",
    "拥有有效的国家或天津市高新技术企业证书",
    "获得过国家级或省部级科学技术奖励",
    "拥有经认定的国家级或省部级研发机构",
    "参与制定国际、国家、行业、地方、团体或企业标准",
    "获得单笔单家100万元及以上创业投资",
    "承担过国家级或省部级科技计划项目",
    "在天津市注册的独立法人企业",
    "申报当年及上一年度无科研严重失信行为，且未列入经营异常名录和严重违法失信企业名单",
    "%(doc)s 雏鹰企业条件(%(n)s)",
    "%(year)s年（申报当年）注册的企业不参评",
    "注册时间%(n)s年以内（截至上年末，当年注册的除外）",
    "注册时间%(n)s年以内（截至上年末）",
    "%(start)s 至 %(end)s 之间注册",
    "%(date)s 及以后注册",
    "上年度营业收入不低于%(money)s",
    "满足九项创新条件之一",
    "已满足第%(items)s项",
    "%(doc)s（本地配置阈值：%(basis)s）",
    "%(doc)s（本地配置阈值）",
    "量化指标（官方数值未经核实）",
    "待管理员配置本地阈值",
    "未配置本地阈值，需人工审核",
    "研发费用占营业收入比例不低于%(pct)s（%(span)s年度）",
    "营业收入为0",
    "%(span)s年度年均研发费用不低于%(money)s",
    "近三年（%(start)s–%(end)s）营业收入复合增长率不低于%(pct)s",
    "需要%(start)s年和%(end)s年的营业收入",
    "%(year)s年营业收入为0，增长率无法计算，需人工审核",
    # the engine itself
    "是",
    "评估日期适用的规则版本",
    "已录入的规则版本",
    "评估日期没有已录入的规则版本，需人工审核",
    # summaries the services store with audit events (shown on the history timeline)
    "梯度：%(old)s → %(new)s（%(how)s）",
    "梯度历程按资质日期重排（%(how)s）",
    "%(year)s 年度数据（%(source)s）",
    "%(kind)s：%(old)s → %(new)s",
    "提议%(action)s",
    "%(action)s（审核通过）",
    "%(cycle)s 在孵企业报送",
    "入驻%(carrier)s",
    "上传证明文件",
    "批次有效期：%(batch)s",
    "%(kind)s 本地阈值",
    "无",
    # generic shapes last: their parts are localised one by one
    ">= %(n)s 项",
    ">= %(n)s 分",
    ">= %(value)s",
    "<= %(value)s",
    "%(band)s >= %(pct)s%%",
    "%(first)s；%(rest)s",
    "%(first)s %(rest)s",
)

_MONEY = re.compile(r"^(?P<n>[\d,]+(?:\.\d+)?)(?P<unit>万元|亿元)$")
_SCALE = {"万元": Decimal(10_000), "亿元": Decimal(100_000_000)}


@cache
def _patterns() -> tuple[tuple[str, re.Pattern[str]], ...]:
    return tuple((t, template_pattern(t)) for t in TEMPLATES)


def _english() -> bool:
    locale = get_locale()
    return locale is not None and locale.language != "zh"


def money(text: str) -> str:
    """'10万元' / '2亿元' / '1.2345万元' as CNY with the full amount, for English readers."""
    match = _MONEY.match(text.strip())
    if not match:
        return text
    value = Decimal(match.group("n").replace(",", "")) * _SCALE[match.group("unit")]
    value = value.quantize(Decimal(1)) if value == value.to_integral_value() else value
    return f"CNY {value:,}"


def localise(text: Any) -> Any:
    """An engine sentence in the reader's language; unchanged in Chinese or when unknown."""
    if not isinstance(text, str) or not text or not _english():
        return text
    return _translate(text)


def audit_summary(text: Any) -> Any:
    """An audit event's stored summary in the reader's language, a code in a slot named after a
    labelled field ("%(source)s") shown as its label (tracker.labels), in Chinese too.

    The summaries are stored as Chinese sentences; an import once stored its figures as
    "2024 年度数据（import）", and histories keep those rows: they read like the others."""
    if not isinstance(text, str) or not text:
        return text
    from tracker.labels import VALUE_LABELS, value_label  # labels imports the feature models

    for template, pattern in _patterns():
        match = pattern.match(text)
        if match is None:
            continue
        params = match.groupdict()
        coded = {name: value_label(name, value) for name, value in params.items()
                 if name in VALUE_LABELS and value in VALUE_LABELS[name]}
        if not coded:
            break
        english = _english()
        return gettext(template, **{name: coded.get(name) or (_param(v) if english else v)
                                    for name, v in params.items()})
    return localise(text)


def _translate(text: str) -> str:
    if (converted := money(text)) != text:
        return converted
    for template, pattern in _patterns():
        match = pattern.match(text)
        if match:
            params = {k: _param(v) for k, v in match.groupdict().items()}
            return gettext(template, **params)
    return gettext(text)  # a plain catalogue word (an honour's label), else the text itself


_NUMERALS = {c: str(i) for i, c in enumerate("一二三四五六七八九十", start=1)}


def _param(value: str) -> str:
    if value in _NUMERALS:  # condition (一) reads (1)
        return _NUMERALS[value]
    if "、" in value and all(p.strip().isdigit() for p in value.split("、")):
        return ", ".join(value.split("、"))
    if "；" in value:
        return "; ".join(_translate(p) for p in value.split("；"))
    return _translate(value)


#: units the engine counts in, as "%(n)s<unit>" in the catalogue ("%(n)s人" -> "%(n)s people")
UNITS: Mapping[str, str] = {"人": "%(n)s人", "项": "%(n)s项", "分": "%(n)s分", "天": "%(n)s天",
                            "家": "%(n)s家", "年": "%(n)s年"}


def amount(value: Any, unit: str | None) -> str:
    """A number with its unit as people read it: 元 shown in 万元, counts with their word."""
    from tracker.money import format_wan

    if isinstance(value, str):  # a label the engine reports as the value (a field's name)
        return localise(value)
    if isinstance(value, float) and value.is_integer():
        value = int(value)
    if unit == "元":
        if _english():  # English readers get the whole amount, not a count of 万
            return f"CNY {Decimal(str(value)).quantize(Decimal(1)):,}"
        return gettext("%(n)s万元", n=format_wan(Decimal(str(value))))
    if unit in UNITS:
        return gettext(UNITS[unit], n=value)
    return f"{value}{unit or ''}"


def localise_result(result: Mapping[str, Any]) -> dict[str, Any]:
    """A copy of one rung's result with its sentences in the reader's language, for templates."""
    if not _english():
        return dict(result)
    out = dict(result)
    out["rule_version"] = localise(result.get("rule_version"))
    criteria = []
    for criterion in result.get("criteria", []):
        c = dict(criterion)
        for key in ("label", "required", "note", "source"):
            c[key] = localise(c.get(key))
        if c.get("items"):
            c["items"] = [{**i, "label": localise(i["label"])} for i in c["items"]]
        criteria.append(c)
    out["criteria"] = criteria
    return out
