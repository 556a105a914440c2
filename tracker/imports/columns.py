"""What each import kind can read, the headers that name each field, and auto-detection."""

from __future__ import annotations

import re
from collections.abc import Callable, Iterable
from dataclasses import dataclass, field
from typing import Any

from tracker.imports import normalise as n
from tracker.messages import Message


@dataclass(frozen=True)
class Field:
    """One target field: its Chinese label, the parser, and the headers that mean it."""

    key: str
    label: str
    parse: Callable[[Any], Any]
    aliases: tuple[str, ...] = ()
    #: where the value goes: enterprise, contact, metrics, qualification, tenancy, row
    group: str = "enterprise"
    #: the stored attribute (metrics in 万元 and in 元 share one)
    attr: str = ""
    required: bool = False
    keys: tuple[str, ...] = field(default=(), init=False)

    def __post_init__(self):
        object.__setattr__(self, "keys", tuple(
            n.header_key(a) for a in (self.label, self.key, *self.aliases)))
        if not self.attr:
            object.__setattr__(self, "attr", self.key)


def _metric(key: str, label: str, aliases: Iterable[str], english: str) -> list[Field]:
    """A money figure readable in 万元 (the bureau's unit, also the default) or in 元."""
    wan = [f"{a}(万元)" for a in (label, *aliases)] + [label, *aliases, english,
                                                       f"{english}(10k yuan)"]
    yuan = [f"{a}(元)" for a in (label, *aliases)] + [f"{english}(yuan)"]
    return [
        Field(f"{key}_wan", f"{label}（万元）", n.money_wan, tuple(wan), "metrics", key),
        Field(f"{key}_yuan", f"{label}（元）", n.money_yuan, tuple(yuan), "metrics", key),
    ]


_USCC = Field("uscc", "统一社会信用代码", n.uscc,
              ("信用代码", "社会信用代码", "统一信用代码", "纳税人识别号", "uscc", "credit code",
               "unified social credit code", "social credit code"), "row", required=True)
_NAME = Field("name", "企业名称", n.text,
              ("名称", "单位名称", "企业(单位)名称", "公司名称", "企业全称", "name", "company",
               "company name", "enterprise name", "enterprise"), "enterprise")

ENTERPRISE_FIELDS: tuple[Field, ...] = (
    _USCC,
    _NAME,
    Field("zone", "所属区域", n.zone, ("区域", "所在区域", "功能区", "所属功能区", "所属片区",
                                    "开发区", "所属开发区", "所在开发区", "功能区域",
                                    "zone", "area"), "enterprise"),
    Field("street", "所属街镇", n.text, ("街道", "街镇", "所在街道", "所属街道", "乡镇",
                                      "street"), "enterprise"),
    Field("founded_on", "成立日期", n.parse_date,
          ("注册日期", "成立时间", "注册时间", "成立日", "founded", "founded on", "founding date",
           "date founded"), "enterprise"),
    Field("tech_field", "技术领域", n.tech_field,
          ("所属技术领域", "所属领域", "高新技术领域", "tech field", "technology field"),
          "enterprise"),
    Field("address", "注册地址", n.text, ("地址", "通讯地址", "address"), "enterprise"),
    Field("website", "网站", n.text, ("网址", "website"), "enterprise"),
    Field("contact_name", "联系人", n.text, ("联系人姓名", "contact", "contact name"), "contact",
          "name"),
    Field("contact_title", "联系人职务", n.text, ("职务", "title"), "contact", "title"),
    Field("contact_phone", "联系电话", n.text,
          ("电话", "手机", "联系方式", "手机号码", "phone", "contact phone", "mobile"),
          "contact", "phone"),
    Field("contact_email", "联系邮箱", n.email,
          ("邮箱", "电子邮箱", "电子邮件", "email", "e-mail", "contact email"), "contact", "email"),
    Field("fiscal_year", "数据年度", n.year,
          ("年度", "年份", "财年", "会计年度", "fiscal year", "year"), "row"),
    Field("employees", "从业人数", n.count,
          ("职工总数", "员工人数", "职工人数", "从业人员", "employees", "staff"), "metrics"),
    Field("tech_staff", "科技人员数", n.count,
          ("科技人员", "研发人员数", "科技人员人数", "tech staff", "s&t staff"), "metrics"),
    *_metric("revenue", "营业收入", ("销售收入", "主营业务收入", "年营业收入"), "revenue"),
    *_metric("total_income", "总收入", ("收入总额",), "total income"),
    *_metric("total_assets", "资产总额", ("总资产",), "total assets"),
    *_metric("net_assets", "净资产", ("净资产总额", "所有者权益"), "net assets"),
    *_metric("total_cost", "成本费用总额", ("成本费用支出总额",), "total cost"),
    *_metric("rd_expense", "研发费用", ("研发投入", "研发费用总额", "研究开发费用"),
             "r&d expense"),
    *_metric("rd_expense_domestic", "境内研发费用", ("境内研究开发费用",), "domestic r&d"),
    *_metric("high_tech_income", "高新技术产品（服务）收入",
             ("高新技术产品(服务)收入", "高新收入", "高新技术产品收入"), "high-tech income"),
    Field("class1_ip", "Ⅰ类知识产权", n.count,
          ("I类知识产权", "一类知识产权", "Ⅰ类知识产权数", "class i ip"), "metrics"),
    Field("class2_ip", "Ⅱ类知识产权", n.count,
          ("II类知识产权", "二类知识产权", "Ⅱ类知识产权数", "class ii ip"), "metrics"),
    *_metric("investment_raised", "获得投资", ("融资额", "获得投资额", "累计融资"),
             "investment raised"),
)

QUALIFICATION_FIELDS: tuple[Field, ...] = (
    _USCC,
    Field("name", "企业名称", n.text, _NAME.aliases, "row"),
    Field("kind", "资质类型", n.qualification_kind,
          ("类型", "认定类型", "资格类型", "资质", "kind", "qualification"), "qualification"),
    Field("number", "证书编号", n.text,
          ("编号", "登记编号", "入库登记编号", "入库编号", "证书号", "证书号码",
           "certificate number",
           "certificate no", "number"), "qualification"),
    Field("granted_on", "发证日期", n.parse_date,
          ("认定日期", "入库日期", "颁发日期", "发证时间", "认定时间", "批准日期", "granted",
           "granted on", "issue date", "issued on"), "qualification"),
    Field("valid_until", "有效期至", n.parse_date,
          ("有效期截止", "有效期截止日期", "到期日期", "截止日期", "有效期", "valid until",
           "expiry date", "expires"), "qualification"),
    Field("batch", "批次", n.text, ("认定批次", "入库批次", "batch"), "qualification"),
    Field("revoked_on", "撤销日期", n.parse_date,
          ("取消日期", "撤销时间", "取消资格日期", "revoked on", "revoked"), "qualification"),
    Field("revoked_reason", "撤销原因", n.text,
          ("取消原因", "撤销理由", "revocation reason"), "qualification"),
)

TENANCY_FIELDS: tuple[Field, ...] = (
    _USCC,
    Field("name", "企业名称", n.text, _NAME.aliases, "row"),
    Field("carrier", "载体名称", n.text,
          ("孵化载体", "所在载体", "载体", "孵化器", "众创空间", "孵化器名称", "carrier"), "row",
          required=True),
    Field("moved_in_on", "入驻日期", n.parse_date,
          ("入驻时间", "入孵日期", "入孵时间", "moved in", "moved in on", "move-in date"),
          "tenancy", required=True),
    Field("term_ends_on", "孵化期满日期", n.parse_date,
          ("孵化期满", "孵化截止日期", "孵化到期日", "term ends", "term ends on"), "tenancy"),
    Field("status", "入驻状态", n.tenancy_status, ("状态", "孵化状态", "status"), "tenancy"),
    Field("ended_on", "毕业/退出日期", n.parse_date,
          ("毕业日期", "退出日期", "离开日期", "ended on"), "tenancy"),
    Field("graduation_basis", "毕业依据", n.graduation_basis,
          ("毕业条件", "graduation basis"), "tenancy"),
    Field("area_m2", "入驻面积（平方米）", n.area,
          ("入驻面积", "租用面积", "面积", "面积(㎡)", "area", "area m2"), "tenancy"),
)

KIND_FIELDS: dict[str, tuple[Field, ...]] = {
    "enterprises": ENTERPRISE_FIELDS,
    "qualifications": QUALIFICATION_FIELDS,
    "tenancies": TENANCY_FIELDS,
}


def fields_for(kind: str) -> dict[str, Field]:
    return {f.key: f for f in KIND_FIELDS[kind]}


#: "A/B", "A／B", "A、B", "A|B": a header naming one thing two ways
_ALTERNATIVES = re.compile(r"[/|、]")
#: a trailing parenthesis: a unit ("(万元)") or another name ("所属区域(开发区)")
_TRAILING = re.compile(r"^(.+?)\(([^()]*)\)$")


def _candidates(key: str) -> list[str]:
    """The header key itself, then each of its alternatives, with the unit carried along.

    A money unit is never dropped: "营业收入/销售收入(元)" tries "营业收入(元)", but
    "营业收入(千元)" does not fall back to the bare "营业收入" (which means 万元).
    """
    found = [key]
    base, suffix = key, ""
    match = _TRAILING.match(key)
    if match:
        base, suffix = match.group(1), match.group(2)
    money_unit = "元" in suffix
    for part in (p for p in _ALTERNATIVES.split(base) if p):
        if suffix:
            found.append(f"{part}({suffix})")
        if not money_unit:
            found.append(part)
    if suffix and not money_unit:
        found += [p for p in _ALTERNATIVES.split(suffix) if p]
    return found


def detect_field(kind: str, header: Any) -> str | None:
    """The field a header names, or None (the column is then ignored).

    The whole header is tried first, so "毕业/退出日期" keeps its own meaning; then the
    alternatives a header lists ("所属区域/开发区", "所属区域(开发区)"), in order.
    """
    key = n.header_key(header)
    if not key:
        return None
    for candidate in _candidates(key):
        for f in KIND_FIELDS[kind]:
            if candidate in f.keys:
                return f.key
    return None


def auto_mapping(kind: str, headers: list[Any]) -> dict[str, str]:
    """{header text: field key}; the first column naming a field wins."""
    mapping: dict[str, str] = {}
    used: set[str] = set()
    for header in headers:
        text = n.cell_text(header).strip()
        if not text or text in mapping:
            continue
        key = detect_field(kind, text)
        if key and key not in used:
            mapping[text] = key
            used.add(key)
    return mapping


def check_mapping(kind: str, mapping: dict[str, str]) -> list[str]:
    """Problems with a mapping a person chose: unknown fields, a field twice, required missing."""
    fields = fields_for(kind)
    problems = []
    seen: dict[str, str] = {}
    for header, key in mapping.items():
        if not key:
            continue
        if key not in fields:
            problems.append(Message("列「%(header)s」对应了未知字段 %(key)s", header=header,
                                    key=key))
            continue
        attr = (fields[key].group, fields[key].attr)
        if attr in seen:
            problems.append(Message("列「%(header)s」与列「%(other)s」对应了同一字段「%(label)s」",
                                    header=header, other=seen[attr],
                                    label=Message(fields[key].label)))
        seen[attr] = header
    targets = {fields[k].key for k in mapping.values() if k in fields}
    for f in fields.values():
        if f.required and f.key not in targets:
            problems.append(Message("缺少必需的列「%(label)s」", label=Message(f.label)))
    return problems
