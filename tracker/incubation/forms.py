"""Forms for carriers, tenancies, status proposals and tenant reports; money in 万元."""

from __future__ import annotations

from flask_babel import lazy_gettext as _l
from wtforms import (
    BooleanField,
    DateField,
    DecimalField,
    IntegerField,
    SelectField,
    StringField,
    TextAreaField,
)
from wtforms.validators import DataRequired, Length, NumberRange, Optional

from tracker.enterprises.zones import ZONES
from tracker.forms_support import VersionedForm
from tracker.incubation.models import (
    CARRIER_KINDS,
    CARRIER_SCHEMES,
    GRADUATION_BASES,
    PROPOSAL_ACTIONS,
)
from tracker.inputs import TrackerForm, labelled


def _optional_int(value):
    return int(value) if value not in (None, "", "None") else None



class CarrierForm(VersionedForm, TrackerForm):
    name = StringField(_l("载体名称"), validators=[DataRequired(), Length(max=200)])
    kind = SelectField(_l("载体类型"), choices=labelled(list(CARRIER_KINDS.items())))
    scheme = SelectField(_l("认定体系与级别"), choices=labelled(list(CARRIER_SCHEMES.items())),
                         default="none")
    specialised = BooleanField(_l("专业孵化器"),
                               description=_l("75%以上在孵企业属同一产业领域并有专业技术平台"))
    operator = StringField(_l("运营机构"), validators=[Optional(), Length(max=200)])
    zone = SelectField(_l("所属区域"), validate_choice=False,
                       choices=labelled([("", "—")] + [(c, s) for c, (s, _f) in ZONES.items()]))
    address = StringField(_l("地址"), validators=[Optional(), Length(max=300)])
    area_m2 = IntegerField(_l("孵化场地面积（m²）"), validators=[Optional(), NumberRange(min=0)])
    workstations = IntegerField(_l("创业工位数"), validators=[Optional(), NumberRange(min=0)])
    recognised_on = DateField(_l("认定日期"), validators=[Optional()])
    default_term_months = IntegerField(_l("默认孵化期限（月）"), default=48,
                                       validators=[Optional(), NumberRange(1, 120)])


class _TenancyTermsForm(TrackerForm):
    """Move-in date, term and area: the same fields when a tenancy is opened or corrected."""

    moved_in_on = DateField(_l("入驻日期"), validators=[DataRequired()])
    term_ends_on = DateField(_l("孵化期满日期"), validators=[Optional()],
                             description=_l("留空则按载体默认期限计算"))
    term_override_reason = TextAreaField(_l("期限调整原因"),
                                         validators=[Optional(), Length(max=500)])
    area_m2 = DecimalField(_l("租用面积（m²）"), places=1,
                           validators=[Optional(), NumberRange(min=0)])


class TenancyOpenForm(_TenancyTermsForm):
    uscc = StringField(_l("企业统一社会信用代码"), validators=[DataRequired(), Length(max=40)])


class TenancyEditForm(VersionedForm, _TenancyTermsForm):
    """The terms of a stored tenancy, under the optimistic lock."""


class ProposalForm(TrackerForm):
    action = SelectField(_l("变更类型"), choices=labelled(list(PROPOSAL_ACTIONS.items())))
    effective_on = DateField(_l("生效日期"), validators=[DataRequired()])
    graduation_basis = SelectField(_l("毕业依据"),
                                   choices=labelled([("", "—")] + list(GRADUATION_BASES.items())))
    evidence = TextAreaField(_l("证明材料"), validators=[Optional(), Length(max=1000)],
                             description=_l("如高企证书编号、投资协议、上市公告"))
    reason = TextAreaField(_l("说明"), validators=[Optional(), Length(max=1000)])
    next_carrier_id = SelectField(_l("转入载体"), coerce=_optional_int, validate_choice=False)
    next_carrier_note = StringField(_l("拟转入载体"), validators=[Optional(), Length(max=200)])


class DecisionForm(VersionedForm, TrackerForm):
    #: sent by the pressed button (approve / reject); not a HiddenField, or hidden_tag() would
    #: render an empty input that comes first in the form data and hides the button's value
    decision = StringField()
    comment = TextAreaField(_l("审核意见"), validators=[Optional(), Length(max=1000)])
    next_carrier_id = SelectField(_l("转入载体"), coerce=_optional_int, validate_choice=False)
    next_moved_in_on = DateField(_l("转入日期"), validators=[Optional()])


class ConfirmForm(TrackerForm):
    """A bare form: CSRF only, for one-button actions."""


class CycleForm(TrackerForm):
    name = StringField(_l("周期名称"), validators=[DataRequired(), Length(max=100)],
                       description=_l("如：2026年第三季度"))
    period_start = DateField(_l("统计期起始日"), validators=[DataRequired()])
    period_end = DateField(_l("统计期截止日"), validators=[DataRequired()])
    fiscal_year = IntegerField(_l("数据年度"), validators=[Optional(), NumberRange(1980, 2100)],
                               description=_l("留空则取统计期截止日所在年度；数据为当年累计数"))
    due_on = DateField(_l("报送截止日期"), validators=[DataRequired()])


class ReportForm(VersionedForm, TrackerForm):
    revenue = DecimalField(_l("营业收入（万元，当年累计）"), places=6,
                           validators=[Optional(), NumberRange(min=0)])
    employees = IntegerField(_l("从业人数"), validators=[Optional(), NumberRange(min=0)])
    rd_expense = DecimalField(_l("研发费用（万元，当年累计）"), places=6,
                              validators=[Optional(), NumberRange(min=0)])
    class1_ip = IntegerField(_l("Ⅰ类知识产权"), validators=[Optional(), NumberRange(min=0)])
    class2_ip = IntegerField(_l("Ⅱ类知识产权"), validators=[Optional(), NumberRange(min=0)])
    investment_raised = DecimalField(_l("获得投资（万元，当年累计）"), places=6,
                                     validators=[Optional(), NumberRange(min=0)])
