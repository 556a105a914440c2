"""Admin form for plan targets."""

from flask_babel import lazy_gettext as _l
from wtforms import IntegerField, SelectField, StringField
from wtforms.validators import DataRequired, Length, NumberRange

from tracker.dashboard.targets import PLAN_2025
from tracker.inputs import TrackerForm, labelled


class TargetForm(TrackerForm):
    metric = SelectField(_l("指标"), choices=labelled([(k, v[0]) for k, v in PLAN_2025.items()]))
    year = IntegerField(_l("年度"), validators=[DataRequired(), NumberRange(2020, 2050)])
    value = IntegerField(_l("目标值"), validators=[DataRequired(), NumberRange(0, 10_000_000)])
    source = StringField(_l("依据文件"), validators=[DataRequired(), Length(max=200)])
