"""Forms of the bulk toolbar, the merge page and the undo button."""

from __future__ import annotations

from flask_babel import lazy_gettext as _l
from wtforms import HiddenField, IntegerField, SelectField, StringField
from wtforms.validators import Length, Optional

from tracker.inputs import TrackerForm
from tracker.vocabulary import KINDS


def _optional_int(value):
    return int(value) if value not in (None, "", "None") else None


class BulkForm(TrackerForm):
    """The list's toolbar; the ticked ids travel as repeated `ids` fields beside it."""

    officer_id = SelectField(_l("联系专员"), coerce=_optional_int, validate_choice=False)
    reason = StringField(_l("归档原因"), validators=[Optional(), Length(max=200)])
    kind = SelectField(_l("申报类型"), choices=list(KINDS.items()), validate_choice=False)
    year = IntegerField(_l("申报年度"), validators=[Optional()])
    batch = StringField(_l("批次"), validators=[Optional(), Length(max=100)])
    next = HiddenField()


class MergeForm(TrackerForm):
    """Which record survives; the per-field and per-year choices are read as radio values."""

    survivor = SelectField(_l("保留的记录"), coerce=_optional_int, validate_choice=False)


class UndoForm(TrackerForm):
    """Only the CSRF token: the record being undone is in the URL."""
