"""Chinese labels for codes shown on pages (translated to English by the catalogue)."""

from tracker.enterprises.models import ACTIVITY_KINDS, METRIC_LABELS
from tracker.incubation.models import TENANCY_STATUSES

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


def template_globals() -> dict:
    return {
        "audit_labels": AUDIT_LABELS,
        "action_labels": ACTION_LABELS,
        "field_names": FIELD_NAMES,
        "activity_kinds": ACTIVITY_KINDS,
        "tenancy_statuses": TENANCY_STATUSES,
    }
