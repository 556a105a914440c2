"""Service and import errors reach people in their language, through the catalogue."""

from __future__ import annotations

import pytest
from flask_babel import force_locale

from tests.factories import make_enterprise
from tracker.enterprises import services as enterprises
from tracker.errors import FieldError
from tracker.imports import normalise
from tracker.ladder import services as ladder


def test_service_errors_in_english(app):
    firm = make_enterprise()
    with app.test_request_context(), force_locale("en"):
        with pytest.raises(FieldError) as refused:
            enterprises.save_contact(firm, {"name": " "})
        assert refused.value.errors == {"name": "Please enter the contact's name"}
        with pytest.raises(FieldError) as refused:
            ladder.create_application(firm, {"kind": "nope", "year": 1900})
        assert all(m.isascii() for m in refused.value.errors.values()), refused.value.errors


def test_import_cell_errors_in_english(app):
    with app.test_request_context(), force_locale("en"), \
            pytest.raises(normalise.CellError) as refused:
        normalise.tech_field("火箭")
    assert str(refused.value).startswith("Not one of the eight technology fields")
    assert all(not ("\u4e00" <= ch <= "\u9fff") for ch in str(refused.value))
