"""The admin's endpoint form."""

from __future__ import annotations

from flask_babel import lazy_gettext as _l
from wtforms import BooleanField, StringField
from wtforms.validators import DataRequired, Length, Optional

from tracker.enterprises.forms import MultiCheckboxField
from tracker.forms_support import VersionedForm
from tracker.inputs import TrackerForm
from tracker.webhooks.models import EVENT_TYPES


def _event_choices() -> list[tuple[str, str]]:
    return [(code, f"{label}（{code}）") for code, label in EVENT_TYPES.items()]


class EndpointForm(TrackerForm):
    url = StringField(_l("接收地址（URL）"), validators=[
        DataRequired(_l("请填写接收地址")), Length(max=500)],
        description=_l("只投递到这个地址；不跟随重定向（3xx 视为失败）"))
    description = StringField(_l("说明"), validators=[Optional(), Length(max=200)])
    events = MultiCheckboxField(_l("订阅的事件"), choices=_event_choices())
    active = BooleanField(_l("启用"), default=True)


class NewEndpointForm(EndpointForm):
    secret = StringField(_l("签名密钥"), validators=[Optional(), Length(max=200)],
                         description=_l("留空则自动生成；只在保存后显示一次"))


class EditEndpointForm(VersionedForm, EndpointForm):
    pass
