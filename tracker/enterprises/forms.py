"""Forms for enterprise records; money is typed in 万元."""

from __future__ import annotations

from flask_babel import lazy_gettext as _l
from wtforms import (
    BooleanField,
    DateField,
    DecimalField,
    EmailField,
    IntegerField,
    SelectField,
    SelectMultipleField,
    StringField,
    TextAreaField,
)
from wtforms.validators import (
    URL,
    DataRequired,
    Email,
    Length,
    NumberRange,
    Optional,
)
from wtforms.widgets import CheckboxInput, ListWidget

from tracker.enterprises.models import ACTIVITY_KINDS, METRIC_LABELS, MONEY_FIELDS
from tracker.enterprises.zones import TECH_FIELDS, ZONES
from tracker.forms_support import VersionedForm
from tracker.inputs import TrackerForm, labelled
from tracker.vocabulary import HONOURS


class MultiCheckboxField(SelectMultipleField):
    widget = ListWidget(prefix_label=False)
    option_widget = CheckboxInput()


def _tri_state(label):
    return SelectField(label, choices=labelled([("1", "是"), ("0", "否"), ("", "未知")]),
                       default="1")


class EnterpriseForm(VersionedForm, TrackerForm):
    uscc = StringField(_l("统一社会信用代码"), validators=[DataRequired(), Length(max=40)])
    uscc_override_reason = TextAreaField(
        _l("校验例外说明"), validators=[Optional(), Length(max=500)],
        description=_l("仅当代码是真实的历史代码但未通过校验时填写"),
    )
    name = StringField(_l("企业名称"), validators=[DataRequired(), Length(max=200)])
    zone = SelectField(_l("所属区域"),
                       choices=labelled([(code, short) for code, (short, _f) in ZONES.items()]))
    street = StringField(_l("街道/社区"), validators=[Optional(), Length(max=100)])
    founded_on = DateField(_l("成立日期"), validators=[Optional()])
    tech_field = SelectField(_l("技术领域"),
                             choices=labelled([("", "—")] + list(TECH_FIELDS.items())))
    industry_tags = StringField(_l("产业标签"), validators=[Optional(), Length(max=300)],
                                description=_l("以逗号分隔"))
    officer_id = SelectField(_l("联系专员"), coerce=lambda v: int(v) if v else None)
    address = StringField(_l("地址"), validators=[Optional(), Length(max=300)])
    website = StringField(_l("网站"), validators=[Optional(), URL(), Length(max=200)])
    description = TextAreaField(_l("简介"), validators=[Optional(), Length(max=4000)])
    registered_in_tianjin = _tri_state(_l("在天津注册"))
    resident_enterprise = _tri_state(_l("居民企业"))
    restricted_industry = SelectField(_l("属于限制/淘汰类产业"),
                                      choices=labelled([("0", "否"), ("1", "是"), ("", "未知")]),
                                      default="0")
    integrity_record_clean = _tri_state(_l("无严重失信/事故记录"))
    honours = MultiCheckboxField(_l("资质与荣誉"), choices=labelled(list(HONOURS.items())))
    innovation_score = IntegerField(_l("高企创新能力评分"),
                                    validators=[Optional(), NumberRange(0, 100)])


TRI_STATE_FIELDS = ("registered_in_tianjin", "resident_enterprise", "restricted_industry",
                    "integrity_record_clean")


def tri_state_value(raw: str) -> bool | None:
    return {"1": True, "0": False}.get(raw)


def tri_state_raw(value: bool | None) -> str:
    return {True: "1", False: "0"}.get(value, "")


class ArchiveForm(VersionedForm, TrackerForm):
    reason = TextAreaField(_l("原因"), validators=[Optional(), Length(max=500)])


class ContactForm(VersionedForm, TrackerForm):
    name = StringField(_l("姓名"), validators=[DataRequired(), Length(max=100)])
    title = StringField(_l("职务"), validators=[Optional(), Length(max=100)])
    phone = StringField(_l("电话"), validators=[Optional(), Length(max=40)])
    email = EmailField(_l("邮箱"), validators=[Optional(), Email(), Length(max=254)])
    receives_reminders = BooleanField(_l("接收提醒邮件"), default=True)
    locale = SelectField(_l("邮件语言"), choices=labelled([("zh_CN", "中文"), ("en", "English")]))


class MetricsForm(VersionedForm, TrackerForm):
    fiscal_year = IntegerField(_l("年度"), validators=[DataRequired(), NumberRange(1980, 2100)])


for _name, _label in METRIC_LABELS.items():
    if _name in MONEY_FIELDS:
        _field = DecimalField(_l("%(label)s（万元）", label=_l(_label)), places=6,
                              validators=[Optional(), NumberRange(min=0)])
    else:
        _field = IntegerField(_l(_label), validators=[Optional(), NumberRange(min=0)])
    setattr(MetricsForm, _name, _field)


class ActivityForm(TrackerForm):
    kind = SelectField(_l("类型"), choices=labelled(list(ACTIVITY_KINDS.items())))
    subject = StringField(_l("主题"), validators=[DataRequired(), Length(max=200)])
    body = TextAreaField(_l("内容"), validators=[Optional(), Length(max=4000)])
    occurred_on = DateField(_l("日期"), validators=[Optional()])
    due_on = DateField(_l("截止日期"), validators=[Optional()])
    owner_id = SelectField(_l("负责人"), coerce=lambda v: int(v) if v else None)
