"""Forms for the import flow (column selects are read from the request by the view)."""

from __future__ import annotations

from flask_babel import lazy_gettext as _l
from flask_wtf.file import FileAllowed, FileField, FileRequired
from wtforms import BooleanField, IntegerField, SelectField, StringField
from wtforms.validators import NumberRange, Optional

from tracker.imports.models import IMPORT_KINDS
from tracker.inputs import TrackerForm, labelled
from tracker.vocabulary import KINDS


class UploadForm(TrackerForm):
    kind = SelectField(_l("名单类型"), choices=labelled(list(IMPORT_KINDS.items())))
    file = FileField(_l("文件（.xlsx 或 .csv）"), validators=[
        FileRequired(_l("请选择要导入的文件")),
        FileAllowed(["xlsx", "csv"], _l("只能导入 .xlsx 或 .csv 文件；旧版 .xls 请先另存为 .xlsx")),
    ])


class MappingForm(TrackerForm):
    year = IntegerField(_l("数据年度（表中没有年度列时，人数、收入等归入此年度）"),
                        validators=[NumberRange(1980, 2100, _l("年度应在 1980–2100 之间"))])
    qualification_kind = SelectField(_l("名单资质类型（表中没有“资质类型”列时使用）"),
                                     choices=labelled([("", "—")] + list(KINDS.items())),
                                     validators=[Optional()])
    preset_name = StringField(_l("保存本次列对应为方案（可选，输入方案名称）"),
                              validators=[Optional()])
    #: tenancy lists only; off by default, so a list never decides a graduation by accident
    official_list = BooleanField(_l("这是局发布的官方名单：名单中的毕业、退出直接生效"
                                    "（不勾选时生成待审核的状态变更申请）"))


class RunForm(TrackerForm):
    keep_valid = BooleanField(_l("只导入正确的行（默认：有任何错误则全部不导入）"))
    accept_warnings = BooleanField(_l("已核对上列可疑数据警告，仍要导入"))


class ConfirmForm(TrackerForm):
    """An empty form: the CSRF token is the point."""


class ReconcileForm(TrackerForm):
    kind = SelectField(_l("名单资质类型"), choices=labelled(list(KINDS.items())))
    year = IntegerField(_l("名单年度（可选：只与该年度认定的记录比较）"),
                        validators=[Optional(), NumberRange(1980, 2100)])
    file = FileField(_l("官方名单（.xlsx 或 .csv）"), validators=[
        FileRequired(_l("请选择名单文件")),
        FileAllowed(["xlsx", "csv"], _l("只能上传 .xlsx 或 .csv")),
    ])
