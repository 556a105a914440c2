"""Login, password and user administration forms."""

from __future__ import annotations

from flask_babel import lazy_gettext as _l
from wtforms import (
    BooleanField,
    EmailField,
    IntegerField,
    PasswordField,
    SelectField,
    StringField,
)
from wtforms.validators import DataRequired, Email, EqualTo, Length, NumberRange, Optional

from tracker.accounts.roles import ROLE_LABELS, Role
from tracker.inputs import TrackerForm, labelled
from tracker.vocabulary import ZONES


class LoginForm(TrackerForm):
    email = EmailField(_l("邮箱"), validators=[DataRequired(), Email()])
    password = PasswordField(_l("密码"), validators=[DataRequired()])
    remember = BooleanField(_l("记住我"))


class UserForm(TrackerForm):
    email = EmailField(_l("邮箱"), validators=[DataRequired(), Email(), Length(max=254)])
    name = StringField(_l("姓名"), validators=[DataRequired(), Length(max=100)])
    #: a new account starts with the least it may do; the admin raises it deliberately
    role = SelectField(_l("角色"),
                       choices=labelled([(r.value, label) for r, label in ROLE_LABELS.items()]),
                       default=Role.VIEWER.value)
    zone = SelectField(
        _l("所属区域"),
        choices=labelled([("", "—")] + [(code, short) for code, (short, _full) in ZONES.items()]),
        validators=[Optional()],
    )
    carrier_id = SelectField(_l("管理的载体"), coerce=lambda v: int(v) if v else None,
                             validators=[Optional()])
    locale = SelectField(_l("语言"), choices=labelled([("zh_CN", "中文"), ("en", "English")]))
    wants_digest = BooleanField(_l("提醒以每日汇总方式发送"))
    active = BooleanField(_l("启用"), default=True)
    #: the full policy (tracker.accounts.passwords) runs in the service, with the email
    password = PasswordField(_l("密码"), validators=[Optional(), Length(max=200)])
    must_change = BooleanField(_l("下次登录时必须修改密码"), default=True)


class NewPasswordMixin:
    password = PasswordField(_l("新密码"), validators=[DataRequired(), Length(max=200)])
    confirm = PasswordField(_l("再次输入新密码"), validators=[
        DataRequired(), EqualTo("password", message=_l("两次输入的密码不一致"))])


class ChangePasswordForm(NewPasswordMixin, TrackerForm):
    current = PasswordField(_l("当前密码"), validators=[DataRequired()])


class ResetPasswordForm(NewPasswordMixin, TrackerForm):
    pass


class ForgotPasswordForm(TrackerForm):
    email = EmailField(_l("邮箱"), validators=[DataRequired(), Email(), Length(max=254)])


class ApiTokenForm(TrackerForm):
    """A new personal API token: a label, a lifetime, and whether it may write."""

    name = StringField(_l("名称（用于哪个系统）"), validators=[Optional(), Length(max=100)])
    expires_days = IntegerField(_l("有效天数"), default=365,
                                validators=[DataRequired(), NumberRange(1, 3660)])
    read_only = BooleanField(_l("只读（不能修改数据）"))
