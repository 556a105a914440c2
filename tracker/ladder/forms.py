"""Forms for qualifications, applications, the self-assessment and the admin settings."""

from __future__ import annotations

from flask_babel import lazy_gettext as _l
from flask_wtf.file import FileField
from wtforms import (
    BooleanField,
    DateField,
    DecimalField,
    Form,
    FormField,
    IntegerField,
    SelectField,
    StringField,
    TextAreaField,
)
from wtforms.validators import DataRequired, InputRequired, Length, NumberRange, Optional

from tracker.enterprises.forms import MultiCheckboxField
from tracker.enterprises.zones import TECH_FIELDS
from tracker.forms_support import VersionedForm
from tracker.inputs import TrackerForm, labelled
from tracker.ladder.models import APPLICATION_STATUSES
from tracker.ladder.rules import HONOURS, KINDS
from tracker.ladder.validity import TIANJIN_KINDS


def _optional_int(value):
    return int(value) if value not in (None, "") else None



class QualificationForm(VersionedForm, TrackerForm):
    kind = SelectField(_l("资质类型"), choices=labelled(list(KINDS.items())))
    number = StringField(_l("证书/登记编号"), validators=[Optional(), Length(max=60)],
                         description=_l("高企：GR+年份+省份代码+序号；科技型中小企业：入库登记编号"))
    granted_on = DateField(_l("认定（发证）日期"), validators=[InputRequired(_l("请填写认定日期"))])
    valid_until = DateField(
        _l("有效期至"), validators=[Optional()],
        description=_l("留空则按规则计算：高企发证之日起三年；科技型中小企业当年有效；"
                       "天津市梯度企业按批次有效期（未设置则不限）"))
    batch = StringField(_l("批次"), validators=[Optional(), Length(max=100)])
    evidence_note = StringField(_l("依据说明"), validators=[Optional(), Length(max=300)],
                                description=_l("如：2023年第一批高新技术企业认定名单"))
    evidence = FileField(_l("证明文件（PDF/JPG/PNG）"))


class RevokeForm(VersionedForm, TrackerForm):
    revoked_on = DateField(_l("撤销日期"), validators=[InputRequired(_l("请填写撤销日期"))])
    reason = TextAreaField(_l("撤销原因"),
                           validators=[DataRequired(_l("请填写撤销原因")), Length(max=1000)])
    #: a title entered by mistake was never held: revoked as of its grant day, no stay shown
    mistaken = BooleanField(
        _l("录入错误：该企业从未持有此资质（从认定日起撤销，梯度历程不再显示）"))


class ApplicationForm(TrackerForm):
    kind = SelectField(_l("申报类型"), choices=labelled(list(KINDS.items())))
    year = IntegerField(_l("申报年度"), validators=[InputRequired(_l("请填写申报年度"))])
    batch = StringField(_l("批次"), validators=[Optional(), Length(max=100)])
    owner_id = SelectField(_l("负责人"), coerce=_optional_int)
    deadline = DateField(_l("截止日期"), validators=[Optional()])
    notes = TextAreaField(_l("备注"), validators=[Optional(), Length(max=2000)])


class ApplicationEditForm(VersionedForm, TrackerForm):
    batch = StringField(_l("批次"), validators=[Optional(), Length(max=100)])
    owner_id = SelectField(_l("负责人"), coerce=_optional_int)
    deadline = DateField(_l("截止日期"), validators=[Optional()])
    notes = TextAreaField(_l("备注"), validators=[Optional(), Length(max=2000)])


class MoveForm(VersionedForm, TrackerForm):
    to_status = SelectField(_l("新状态"), choices=labelled(list(APPLICATION_STATUSES.items())))
    note = StringField(_l("说明"), validators=[Optional(), Length(max=300)])


class ApproveForm(VersionedForm, TrackerForm):
    number = StringField(_l("证书/登记编号"), validators=[Optional(), Length(max=60)])
    granted_on = DateField(_l("认定（发证）日期"), validators=[InputRequired(_l("请填写认定日期"))])
    valid_until = DateField(_l("有效期至"), validators=[Optional()],
                            description=_l("留空则按规则计算"))
    note = StringField(_l("说明"), validators=[Optional(), Length(max=300)])


def _tri_state(label):
    return SelectField(label, choices=labelled([("", "未知"), ("1", "是"), ("0", "否")]),
                       default="")


class YearForm(Form):
    """One fiscal year's figures on the self-assessment form (fields = facts.YEAR_FIELDS)."""

    employees = IntegerField(_l("职工总数（人）"), validators=[Optional(), NumberRange(min=0)])
    tech_staff = IntegerField(_l("科技人员数（人）"), validators=[Optional(), NumberRange(min=0)])
    revenue = DecimalField(_l("营业（销售）收入（万元）"), validators=[Optional()])
    total_income = DecimalField(_l("总收入（万元）"), validators=[Optional()])
    total_assets = DecimalField(_l("资产总额（万元）"), validators=[Optional()])
    total_cost = DecimalField(_l("成本费用总额（万元）"), validators=[Optional()])
    rd_expense = DecimalField(_l("研发费用（万元）"), validators=[Optional()])
    rd_expense_domestic = DecimalField(_l("境内研发费用（万元）"), validators=[Optional()])
    high_tech_income = DecimalField(_l("高新技术产品（服务）收入（万元）"),
                                    validators=[Optional()])


class SelfAssessmentForm(TrackerForm):
    as_of = DateField(_l("评估日期"), validators=[InputRequired(_l("请填写评估日期"))])
    kinds = MultiCheckboxField(_l("评估类型"), choices=labelled(list(KINDS.items())))
    founded_on = DateField(_l("成立日期"), validators=[Optional()])
    registered_in_tianjin = _tri_state(_l("在天津注册的独立法人"))
    resident_enterprise = _tri_state(_l("居民企业"))
    restricted_industry = _tri_state(_l("属于限制/淘汰类产业"))
    integrity_record_clean = _tri_state(_l("无严重失信/事故记录"))
    tech_field = SelectField(_l("技术领域"),
                             choices=labelled([("", "未知")] + list(TECH_FIELDS.items())),
                             default="")
    class1_ip = IntegerField(_l("Ⅰ类知识产权（项）"), validators=[Optional(), NumberRange(min=0)])
    class2_ip = IntegerField(_l("Ⅱ类知识产权（项）"), validators=[Optional(), NumberRange(min=0)])
    honours = MultiCheckboxField(_l("资质与荣誉"), choices=labelled(list(HONOURS.items())))
    innovation_score = IntegerField(_l("高企创新能力评分"),
                                    validators=[Optional(), NumberRange(0, 100)])

    @property
    def year_forms(self) -> list[FormField]:
        """The yearly sub-forms, latest fiscal year first (y1 = the year before as_of)."""
        return [self[f"y{n}"] for n in range(1, self.year_count + 1)]

    year_count = 0


_SELF_ASSESSMENT_FORMS: dict[int, type[SelfAssessmentForm]] = {}


def self_assessment_form(year_count: int) -> SelfAssessmentForm:
    """A self-assessment form with ``year_count`` yearly sub-forms (y1, y2, …).

    The count comes from the rule sets (rules.fiscal_years_needed), so a rule that reads four
    years gets four columns; classes are cached per count because WTForms binds fields per class.
    """
    cls = _SELF_ASSESSMENT_FORMS.get(year_count)
    if cls is None:
        fields = {f"y{n}": FormField(YearForm) for n in range(1, year_count + 1)}
        cls = type(f"SelfAssessmentForm{year_count}", (SelfAssessmentForm,),
                   {**fields, "year_count": year_count})
        _SELF_ASSESSMENT_FORMS[year_count] = cls
    return cls()


class ThresholdForm(VersionedForm, TrackerForm):
    """One locally configured rung; labels follow rules.LOCAL_THRESHOLD_KEYS (money in 万元)."""

    min_revenue = DecimalField(_l("上年度营业收入下限（万元）"),
                               validators=[Optional(), NumberRange(min=0)])
    min_revenue_cagr_pct = DecimalField(_l("近三年营业收入复合增长率下限（%）"),
                                        validators=[Optional(), NumberRange(min=0)])
    min_rd_intensity_pct = DecimalField(_l("研发费用占营业收入比例下限（%）"),
                                        validators=[Optional(), NumberRange(min=0)])
    min_avg_rd_expense = DecimalField(_l("年均研发费用下限（万元）"),
                                      validators=[Optional(), NumberRange(min=0)])
    rd_years = IntegerField(_l("研发指标计算年数（默认1）"),
                            validators=[Optional(), NumberRange(1, 10)])
    max_age_years = IntegerField(_l("注册年限上限（截至上年末）"),
                                 validators=[Optional(), NumberRange(1, 50)])
    source = StringField(_l("本地阈值依据（文件或会议纪要）"),
                         validators=[Optional(), Length(max=300)])


class BatchForm(TrackerForm):
    kind = SelectField(_l("类型"), choices=labelled([(k, KINDS[k]) for k in TIANJIN_KINDS]))
    batch = StringField(_l("批次"), validators=[DataRequired(_l("请填写批次")), Length(max=100)])
    valid_until = DateField(_l("有效期至"), validators=[Optional()],
                            description=_l("留空表示有效期未确认（不设截止）"))
    note = StringField(_l("依据"), validators=[Optional(), Length(max=300)])
