"""Forms for admins: reminder rules and the official-cycle calendar."""

from __future__ import annotations

from flask_babel import lazy_gettext as _l
from wtforms import BooleanField, DateField, IntegerField, SelectField, StringField, TextAreaField
from wtforms.validators import DataRequired, Length, NumberRange, Optional, ValidationError

from tracker.enterprises.forms import MultiCheckboxField
from tracker.forms_support import VersionedForm
from tracker.inputs import TrackerForm, labelled
from tracker.reminders.models import PROGRAMMES, RECIPIENT_KINDS


def parse_offsets(raw: str) -> list[int]:
    """'180, 90, 30' -> [180, 90, 30]; negative numbers mean days after the due date."""
    values = []
    for part in (raw or "").replace("，", ",").split(","):
        part = part.strip()
        if not part:
            continue
        value = int(part)  # ValueError is turned into a field message by the form
        if not -365 <= value <= 730:
            raise ValueError(part)
        values.append(value)
    if not values:
        raise ValueError(raw)
    return sorted(set(values), reverse=True)


class RuleForm(VersionedForm, TrackerForm):
    name = StringField(_l("规则名称"), validators=[DataRequired(_l("请填写规则名称")),
                                                Length(max=200)])
    offsets = StringField(_l("提前天数"),
                          description=_l("用逗号分隔，如 180, 90, 30；负数表示截止后若干天"))
    recipients = MultiCheckboxField(_l("接收人"), choices=labelled(list(RECIPIENT_KINDS.items())))
    programme = SelectField(_l("关联申报日历"), choices=labelled([("", "—")] + [
        (code, label) for code, (label, _kind) in PROGRAMMES.items()]))
    enabled = BooleanField(_l("启用"))

    def validate_offsets(self, field):
        try:
            parse_offsets(field.data)
        except ValueError as exc:
            raise ValidationError(_l("提前天数须为 -365 到 730 之间的整数，用逗号分隔")) from exc

    def validate_recipients(self, field):
        if not field.data:
            raise ValidationError(_l("请至少选择一类接收人"))


class CycleForm(VersionedForm, TrackerForm):
    programme = SelectField(_l("项目"), choices=labelled([(code, label) for code, (label, _k)
                                               in PROGRAMMES.items()]))
    year = IntegerField(_l("年度"), validators=[
        DataRequired(_l("请填写年度")), NumberRange(2000, 2100, _l("年度应在 2000–2100 之间"))])
    batch = StringField(_l("批次"), validators=[Optional(), Length(max=100)])
    opens_on = DateField(_l("开始日期"), validators=[Optional()])
    closes_on = DateField(_l("截止日期"), validators=[DataRequired(_l("请填写截止日期"))])
    notes = TextAreaField(_l("备注"), validators=[Optional()])

    def validate_closes_on(self, field):
        if self.opens_on.data and field.data and field.data < self.opens_on.data:
            raise ValidationError(_l("截止日期不能早于开始日期"))
