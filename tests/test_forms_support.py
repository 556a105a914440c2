"""The shared save-and-report edge every form page uses (tracker.forms_support)."""

from __future__ import annotations

import pytest
from flask import get_flashed_messages
from flask_wtf import FlaskForm
from sqlalchemy.orm.exc import StaleDataError
from wtforms import StringField

from tracker.errors import FieldError, StaleEdit
from tracker.forms_support import commit_or_report, page_status, stale_message


class _Form(FlaskForm):
    class Meta:
        csrf = False

    name = StringField("名称")


def test_success_returns_the_result_and_200(app):
    with app.test_request_context(method="POST"):
        form = _Form()
        saved = commit_or_report(form, lambda: 42)
        assert saved.ok and saved.result == 42 and not saved.stale
        assert page_status(form, saved) == 200


def test_field_error_lands_on_the_field_and_unknown_keys_are_flashed(app):
    with app.test_request_context(method="POST"):
        form = _Form()

        def refuse():
            raise FieldError({"name": "请填写名称", "elsewhere": "该载体已归档"})

        saved = commit_or_report(form, refuse)
        assert not saved.ok and not saved.stale
        assert form.name.errors == ["请填写名称"]
        assert get_flashed_messages(with_categories=True) == [("danger", "该载体已归档")]
        assert page_status(form, saved) == 400


def test_refusal_naming_no_form_field_is_flashed_and_answers_400(app):
    """A refusal that names no form field is flashed, and the page still says it was refused."""
    with app.test_request_context(method="POST"):
        form = _Form()

        def refuse():
            raise FieldError({"tenancy_id": "无需报送"})

        saved = commit_or_report(form, refuse)
        assert not saved.ok
        assert page_status(form, saved) == 400


def test_stale_edit_reports_its_version_and_409(app):
    with app.test_request_context(method="POST"):
        form = _Form()

        def stale():
            raise StaleEdit(7)

        saved = commit_or_report(form, stale)
        assert saved.stale and page_status(form, saved) == 409
        [(category, message)] = get_flashed_messages(with_categories=True)
        assert category == "danger" and "已被他人修改" in message and "7" in message
        assert message == stale_message(7)


def test_stale_data_error_needs_a_way_to_read_the_version(app):
    def flush_race():
        raise StaleDataError("row changed")

    with app.test_request_context(method="POST"), pytest.raises(StaleDataError):
        commit_or_report(_Form(), flush_race)
    with app.test_request_context(method="POST"):
        saved = commit_or_report(_Form(), flush_race, current_version=lambda: 3,
                                 stale=lambda v: f"v{v}")
        assert saved.stale
        assert get_flashed_messages() == ["v3"]


def test_without_a_form_every_message_is_flashed(app):
    with app.test_request_context(method="POST"):
        def refuse():
            raise FieldError({"name": "请填写联系人姓名"})

        assert not commit_or_report(None, refuse).ok
        assert get_flashed_messages() == ["请填写联系人姓名"]
