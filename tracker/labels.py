"""Labels for every stored code shown to people: one registry for pages, exports and emails.

Chinese labels live here (translated to English by the catalogue when shown). Each feature adds
its own words in its ``init_app`` (``AUDIT_LABELS.update``, ``register_values``), and
``value_label`` is what the audit history, the reminder ledger, the exports and the emails call,
so no template prints a raw code, an officer's id or a ledger step.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping
from decimal import Decimal
from typing import Any

from tracker.enterprises.models import ACTIVITY_KINDS, ENTERPRISE_STATUSES, METRIC_LABELS
from tracker.i18n import gettext, locale
from tracker.incubation.models import TENANCY_STATUSES
from tracker.money import format_wan
from tracker.vocabulary import HONOURS, KINDS, SOURCES, TECH_FIELDS, ZONES

#: entity types recorded in audit events; features add theirs with AUDIT_LABELS.update
AUDIT_LABELS = {
    "enterprise": "企业信息",
    "contact": "联系人",
    "metrics": "年度数据",
    "user": "用户",
    "qualification": "资质",
    "application": "申报",
    "tenancy": "入驻",
    "carrier": "载体",
    "import": "导入",
}
ACTION_LABELS = {
    "create": "新建",
    "update": "修改",
    "archive": "归档",
    "restore": "恢复",
    "delete": "删除",
    "approve": "批准",
    "reject": "驳回",
    "transition": "梯度变化",
}
FIELD_NAMES = {
    "uscc": "统一社会信用代码",
    "uscc_override_reason": "校验例外说明",
    "name": "名称",
    "zone": "区域",
    "street": "街道",
    "founded_on": "成立日期",
    "tech_field": "技术领域",
    "industry_tags": "产业标签",
    "officer_id": "联系专员",
    "address": "地址",
    "website": "网站",
    "description": "简介",
    "registered_in_tianjin": "在天津注册",
    "resident_enterprise": "居民企业",
    "restricted_industry": "限制类产业",
    "integrity_record_clean": "无失信记录",
    "honours": "资质与荣誉",
    "innovation_score": "创新能力评分",
    "status": "状态",
    "title": "职务",
    "phone": "电话",
    "email": "邮箱",
    "receives_reminders": "接收提醒",
    "locale": "语言",
    "role": "角色",
    "channel": "渠道",
    "official_list": "按官方名单批准",
    "ladder_history": "梯度历程",
    "period_months": "覆盖月数",
    **METRIC_LABELS,
}

#: Interface languages by code, named in their own language.
LOCALES = {"zh_CN": "中文", "en": "English"}

#: field -> {code: Chinese label}, whatever record the field belongs to
VALUE_LABELS: dict[str, Mapping[str, Any]] = {
    "kind": KINDS,
    "current_rung": KINDS,
    "rung": KINDS,
    "tech_field": TECH_FIELDS,
    "honours": HONOURS,
    "source": SOURCES,
    "locale": LOCALES,
}
#: (entity type, field) -> {code: label}, for fields whose codes differ by record ("status")
ENTITY_VALUE_LABELS: dict[tuple[str, str], Mapping[str, Any]] = {
    ("enterprise", "status"): ENTERPRISE_STATUSES,
    ("tenancy", "status"): TENANCY_STATUSES,
}
#: field -> function(id) -> name, for foreign keys shown as who/what they point at
REFERENCES: dict[str, Callable[[int], str | None]] = {}


def register_values(field: str, labels: Mapping[str, Any], *, entity_type: str | None = None,
                    ) -> None:
    """Let a feature add the labels of its codes (called from the feature's init_app)."""
    if entity_type is None:
        VALUE_LABELS[field] = labels
    else:
        ENTITY_VALUE_LABELS[(entity_type, field)] = labels


def register_reference(field: str, resolve: Callable[[int], str | None]) -> None:
    """Show ``field`` (an id) as the name ``resolve`` returns; the id stays for a lost row."""
    REFERENCES[field] = resolve


def _text(label: Any) -> str:
    # tuples are (short, full) names, as ZONES keeps them
    return gettext(label[0] if isinstance(label, tuple) else str(label))


def _table(field: str, entity_type: str | None) -> Mapping[str, Any] | None:
    if field == "zone":
        return ZONES
    return ENTITY_VALUE_LABELS.get((entity_type or "", field)) or VALUE_LABELS.get(field)


def value_labels(field: str, entity_type: str | None = None) -> dict[str, str]:
    """Every code of `field` with its label in the current language, as value_label gives it:
    a page labelling many rows (the board's ~200 cards) translates each label once."""
    return {code: _text(label) for code, label in (_table(field, entity_type) or {}).items()}


def value_label(field: str, value: Any, entity_type: str | None = None) -> str:
    """A stored code as a person reads it, in the current language; unknown codes unchanged."""
    table = _table(field, entity_type)
    if table is not None and isinstance(value, str) and value in table:
        return _text(table[value])
    resolve = REFERENCES.get(field)
    if resolve is not None and isinstance(value, int) and not isinstance(value, bool):
        name = resolve(value)
        return name if name else f"#{value}"
    return str(value)


def money_text(yuan: Any) -> str:
    """An amount stored in 元 as people read it: 万元 in Chinese, whole CNY in English."""
    amount = Decimal(str(yuan))
    chosen = locale()
    if chosen is not None and chosen.language != "zh":
        return f"CNY {amount.quantize(Decimal(1)):,}"
    return gettext("%(n)s万元", n=format_wan(amount))


def source_label(code: str | None) -> str:
    """Where a record came from, as a person reads it ('—' when unknown)."""
    return value_label("source", code) if code else "—"


def step_label(tag: str) -> str:
    """A reminder ledger step ("d30", "d0", "d-3", "rung:hnte", "daily") as a person reads it."""
    if tag.startswith("rung:"):
        return gettext("达到%(rung)s条件", rung=value_label("rung", tag.split(":", 1)[1]))
    if tag == "daily":
        return gettext("每日汇总")
    if tag.startswith("d") and tag[1:].lstrip("-").isdigit():
        days = int(tag[1:])
        if days > 0:
            return gettext("提前%(n)s天", n=days)
        if days == 0:
            return gettext("当天")
        return gettext("逾期%(n)s天", n=-days)
    return tag


def template_globals() -> dict:
    return {
        "audit_labels": AUDIT_LABELS,
        "action_labels": ACTION_LABELS,
        "field_names": FIELD_NAMES,
        "activity_kinds": ACTIVITY_KINDS,
        "tenancy_statuses": TENANCY_STATUSES,
        "value_label": value_label,
        "source_label": source_label,
        "step_label": step_label,
    }

