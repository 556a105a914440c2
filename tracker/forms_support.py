"""One way for every form page to save through a service and report a refusal.

Services flush and raise tracker.errors.FieldError / StaleEdit; the view commits once. This is
that edge: commit on success, otherwise roll back, tell the user (on the form's fields where they
exist, as flash messages where not) and answer 409 for a stale edit, 400 for refused input.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

from flask import flash
from flask_babel import gettext as _
from sqlalchemy.orm.exc import StaleDataError

from tracker.errors import FieldError, StaleEdit
from tracker.extensions import db


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


@dataclass(frozen=True)
class Outcome:
    """What became of one save: the service's result, or that it was refused (and how)."""

    ok: bool
    result: Any = None
    stale: bool = False


def commit_or_report(form: Any, save: Callable[[], Any], *,
                     current_version: Callable[[], int] | None = None,
                     stale: Callable[[int], str] = stale_message) -> Outcome:
    """Run `save` and commit; on StaleEdit / FieldError roll back and tell the user.

    StaleEdit names the version it met. A StaleDataError (the row changed between read and
    flush) is caught only when the view says how to read the current version after the
    rollback (`current_version`); otherwise it propagates as before. `form=None` flashes every
    field message (forms embedded in another page).
    """
    try:
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
