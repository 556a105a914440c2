"""One way for every form page to save through a service and report a refusal.

Services flush and raise tracker.errors.FieldError / StaleEdit; the view commits once. This is
that edge: commit on success, otherwise roll back, tell the user (on the form's fields where they
exist, as flash messages where not) and answer 409 for a stale edit, 400 for refused input.

Every form that edits a stored record is a VersionedForm: the same optimistic lock for all of
them, checked here in the one save path, so a POST without its version cannot slip past it.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

from flask import flash
from flask_babel import gettext as _
from sqlalchemy.orm.exc import StaleDataError
from wtforms import HiddenField

from tracker.errors import FieldError, StaleEdit, check_version
from tracker.extensions import db
from tracker.inputs import parse_int


def show_field_errors(form: Any, errors: dict[str, str]) -> None:
    """Put each message on its form field; a message for no field (or no form) is flashed."""
    for name, message in errors.items():
        field = getattr(form, name, None) if form is not None else None
        if field is not None and name != "csrf_token":
            field.errors = [*field.errors, message]
        else:
            flash(message, "danger")


def flash_form_errors(form: Any) -> None:
    """For a form embedded in another page: each field's problems as one flash naming it."""
    for name, messages in form.errors.items():
        field = getattr(form, name, None)
        label = field.label.text if field is not None else name
        flash(f"{label}：{'；'.join(str(m) for m in messages)}", "danger")


def stale_message(current_version: int) -> str:
    """Why a save was refused after someone else saved first; the typed input stays on screen."""
    return _("保存失败：该记录已被他人修改（当前版本 %(v)s）。您填写的内容仍保留在下方，"
             "请打开最新版本核对后再保存。", v=current_version)


class VersionedForm:
    """Mixin for every form that edits a stored record: the version the user read travels along.

    The record the form was built from (`obj=`) is remembered as `edited`; commit_or_report
    refuses a save of it without a version (400) or over a newer one (409). A form built for a
    new record (`obj=None`) has nothing to lock.
    """

    version = HiddenField()

    def __init__(self, *args: Any, obj: Any = None, **kwargs: Any) -> None:
        super().__init__(*args, obj=obj, **kwargs)
        self.edited = obj

    def submitted_version(self) -> int:
        """The version posted with the form; FieldError when it is missing or not a number.

        Read from the posted data, not `.data`: a form built with `obj=` fills a missing field
        from the record itself, which would make every version look current.
        """
        version = parse_int((self.version.raw_data or [""])[0])
        if version is None:
            raise FieldError({"_version": _(
                "保存失败：提交的内容缺少版本号，无法确认您编辑的是最新版本。"
                "请重新打开编辑页面后再保存。")})
        return version


def check_lock(lock: VersionedForm, record: Any) -> None:
    """The optimistic lock of one edit: a version must be posted and must still be current."""
    check_version(record, lock.submitted_version())


@dataclass(frozen=True)
class Outcome:
    """What became of one save: the service's result, or that it was refused (and how)."""

    ok: bool
    result: Any = None
    stale: bool = False


def commit_or_report(form: Any, save: Callable[[], Any], *,
                     record: Any = None, lock: VersionedForm | None = None,
                     current_version: Callable[[], int] | None = None,
                     stale: Callable[[int], str] = stale_message) -> Outcome:
    """Run `save` and commit; on StaleEdit / FieldError roll back and tell the user.

    An edit (a VersionedForm built from a record, or `record=` given) is first checked against
    its optimistic lock; `lock` is the form carrying the version when `form=None` (forms
    embedded in another page, whose every field message is flashed). StaleEdit names the
    version it met. A StaleDataError (the row changed between read and flush) is reported
    with the version read again after the rollback (`current_version`, by default the edited
    record's).
    """
    if lock is None and isinstance(form, VersionedForm):
        lock = form
    if lock is not None and record is None:
        record = lock.edited
    if current_version is None and record is not None and lock is not None:
        current_version = lambda: record.version  # noqa: E731 - expired: read afresh
    try:
        if lock is not None and record is not None:
            check_lock(lock, record)
        result = save()
        db.session.commit()
        return Outcome(True, result)
    except StaleEdit as exc:
        db.session.rollback()
        flash(stale(exc.current_version), "danger")
        return Outcome(False, stale=True)
    except StaleDataError:
        if current_version is None:
            raise
        db.session.rollback()
        flash(stale(current_version()), "danger")
        return Outcome(False, stale=True)
    except FieldError as exc:
        db.session.rollback()
        show_field_errors(form, exc.errors)
        return Outcome(False)


def page_status(form: Any, outcome: Outcome | None = None) -> int:
    """The status a re-shown form answers with: 409 after a stale save, 400 with errors, 200."""
    if outcome is not None and outcome.stale:
        return 409
    refused = outcome is not None and not outcome.ok
    return 400 if form.errors or refused else 200
