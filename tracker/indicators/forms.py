"""Forms for yearly figures, a period's targets and its source document."""

from flask_babel import lazy_gettext as _l
from wtforms import DateField, SelectField, StringField
from wtforms.validators import DataRequired, Length, Optional

from tracker.forms_support import VersionedForm
from tracker.inputs import TrackerForm


class ValueForm(TrackerForm):
    """A new yearly figure: the year's choices are the period's years up to this one."""

    year = SelectField(_l("年度"), coerce=int, validate_choice=False)
    value = StringField(_l("数值"), validators=[DataRequired(_l("请填写数值")), Length(max=40)])
    source = StringField(_l("来源"), validators=[DataRequired(_l("请填写来源")), Length(max=200)],
                         description=_l("统计公报、年鉴或报表的名称与日期"))


class ValueEditForm(VersionedForm, ValueForm):
    """A correction of a recorded figure (the optimistic lock travels along)."""


class TargetForm(VersionedForm, TrackerForm):
    target = StringField(_l("目标值"), validators=[Optional(), Length(max=40)])
    target_note = StringField(_l("目标说明"), validators=[Optional(), Length(max=100)],
                              description=_l("规划原文，如“不低于全市平均水平”"))
    baseline = StringField(_l("基数"), validators=[Optional(), Length(max=40)])


class SourceForm(VersionedForm, TrackerForm):
    source_title = StringField(_l("文件标题"),
                               validators=[DataRequired(_l("请填写文件标题")), Length(max=200)])
    source_number = StringField(_l("文号"), validators=[Optional(), Length(max=100)])
    source_date = DateField(_l("发布日期"), validators=[DataRequired(_l("请填写发布日期"))])
