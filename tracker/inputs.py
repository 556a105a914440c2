"""One input layer: what any request may carry, checked once before a view sees it.

Query parameters, form fields, cursors and path ids arrive from anyone. Rather than each view
guarding its own parsing, every request passes here first: control characters are refused,
query parameters are single-line, path ids fit the database's integers, and forms built on
`Form` refuse line breaks in one-line fields, numbers the database cannot store and money that
is not a finite amount. A refusal is a 400 with a message (JSON under /api/), never a 500.
"""

from __future__ import annotations

import json
import re
from decimal import Decimal, InvalidOperation
from typing import Any

from flask import Flask, Request, abort, current_app, request
from flask_babel import lazy_gettext as _l
from flask_wtf import FlaskForm
from werkzeug.datastructures import ImmutableMultiDict
from werkzeug.routing import IntegerConverter
from wtforms import DecimalField, FloatField, IntegerField, StringField, TextAreaField
from wtforms.fields import FieldList, FormField, HiddenField

#: the largest id or count any of our integer columns can hold (SQLite and PostgreSQL bigint)
MAX_INT = 2**63 - 1
#: a plain int4 column (years, counts, versions) holds no more than this
MAX_INT4 = 2**31 - 1
#: the largest amount a money or figure field accepts (1e15 元 is far beyond any firm)
MAX_AMOUNT = Decimal(10) ** 15

#: a query parameter longer than this is no search a person typed (SQLite refuses LIKE
#: patterns over 50,000 bytes; our cursors are a few hundred characters)
MAX_QUERY_VALUE = 2000
#: C0 controls and DEL except tab, line feed and carriage return (textareas keep those)
_CONTROL = re.compile(r"[\x00-\x08\x0b\x0c\x0e-\x1f\x7f]")
_LINE_BREAK = re.compile(r"[\r\n\u2028\u2029\x85]")


class BoundedIntegerConverter(IntegerConverter):
    """`<int:…>` in a URL: a number beyond an int4 id column is simply no such record (404)."""

    #: ids are int4 columns unless a route says `<bigint:…>`
    limit = MAX_INT4

    def __init__(self, map, *args: Any, **kwargs: Any) -> None:  # noqa: A002 - werkzeug's name
        kwargs.setdefault("max", self.limit)
        super().__init__(map, *args, **kwargs)


class BigIdConverter(BoundedIntegerConverter):
    """`<bigint:…>`: ids of the bigint tables (reminders, mail, webhook deliveries)."""

    limit = MAX_INT


def has_control_characters(value: str) -> bool:
    return bool(_CONTROL.search(value))


def is_single_line(value: str) -> bool:
    return not _LINE_BREAK.search(value)


def _refuse_hostile_parameters() -> None:
    for key, value in request.args.items(multi=True):
        if len(key) + len(value) > MAX_QUERY_VALUE:
            abort(400, description=_l("查询参数“%(name)s”过长。", name=key[:40]))
        if has_control_characters(key + value) or not is_single_line(key + value):
            abort(400, description=_l("查询参数“%(name)s”含有不允许的控制字符或换行。",
                                      name=key[:40]))
    if request.method in ("POST", "PUT", "PATCH") and request.mimetype in (
            "application/x-www-form-urlencoded", "multipart/form-data"):
        for key, value in request.form.items(multi=True):
            if has_control_characters(key + value):
                abort(400, description=_l("字段“%(name)s”含有不允许的控制字符。",
                                          name=key[:40]))


_ASCII_INT = re.compile(r"-?[0-9]{1,19}")


def parse_int(raw: Any, *, low: int = 0, high: int = MAX_INT4) -> int | None:
    """A whole number typed by someone: ASCII digits within [low, high], else None."""
    if not isinstance(raw, str) or not _ASCII_INT.fullmatch(raw.strip()):
        return None
    value = int(raw)
    return value if low <= value <= high else None


def arg_int(name: str, default: int | None = None, *, low: int = 0,
            high: int = MAX_INT4) -> int | None:
    """An integer query parameter kept within bounds; anything else is the default."""
    value = parse_int(request.args.get(name), low=low, high=high)
    return default if value is None else value


def labelled(pairs: Any) -> list[tuple[str, Any]]:
    """Choices whose Chinese labels are shown in the reader's language (looked up at render).

    Accepts (code, label) pairs or a {code: label} mapping; a (short, full) tuple label shows
    the short name. The catalogues hold the English of every label.
    """
    items = pairs.items() if hasattr(pairs, "items") else pairs
    out = []
    for code, label in items:
        text = label[0] if isinstance(label, tuple) else label
        out.append((code, _l(text) if isinstance(text, str) and text not in ("—", "") else text))
    return out


def finite_amount(value: Decimal | None) -> bool:
    """A Decimal a person could have meant: finite and within MAX_AMOUNT."""
    return value is None or (value.is_finite() and abs(value) <= MAX_AMOUNT)


class TrackerForm(FlaskForm):
    """Every form of the product: FlaskForm plus the checks no field may skip.

    One-line text fields refuse line breaks (a name with CR/LF would break every email
    header it reaches); integers must fit the columns they are stored in; decimals must be
    finite amounts (`Infinity`, `sNaN`, `1E+400` are not money). (The optimistic lock's
    version is checked where it is used: forms_support.VersionedForm.)
    """

    def validate(self, extra_validators: Any = None) -> bool:
        # Checked before the field validators run: NumberRange would raise on a signalling NaN.
        problems = {}
        for field in _leaf_fields(self):
            message = _field_problem(field)
            if message:
                problems[field] = message
                if isinstance(field, IntegerField | DecimalField | FloatField):
                    field.data = None
        valid = super().validate(extra_validators)
        for field, message in problems.items():
            field.errors = [*field.errors, message]
        return valid and not problems


def _leaf_fields(form: Any):
    """Every field of a form, subforms (FormField) and lists (FieldList) included."""
    for field in form:
        if isinstance(field, FormField):
            yield from _leaf_fields(field.form)
        elif isinstance(field, FieldList):
            for entry in field.entries:
                yield from _leaf_fields([entry]) if not isinstance(entry, FormField) \
                    else _leaf_fields(entry.form)
        else:
            yield field


def _field_problem(field: Any) -> Any:
    data = field.data
    if isinstance(field, IntegerField) and isinstance(data, int):
        if abs(data) > MAX_INT4:
            return _l("数值超出允许范围。")
    elif isinstance(field, DecimalField | FloatField) and data is not None:
        try:
            if not finite_amount(Decimal(data)):
                return _l("请输入有效的金额或数值（不接受无穷大、NaN 或超大指数）。")
        except (InvalidOperation, ValueError):
            return _l("请输入有效的数值。")
    elif (isinstance(field, StringField) and not isinstance(field, TextAreaField | HiddenField)
          and isinstance(data, str) and not is_single_line(data)):
        return _l("此项只能填写一行文字，不能包含换行。")
    return None


class BoundedParameters(ImmutableMultiDict):
    """Query and form data whose `.get(name, type=int)` only yields numbers our columns hold."""

    def get(self, key: Any, default: Any = None, type: Any = None) -> Any:  # noqa: A002
        if type is int:
            value = parse_int(super().get(key), low=-MAX_INT4, high=MAX_INT4)
            return default if value is None else value
        return super().get(key, default, type)


class TrackerRequest(Request):
    parameter_storage_class = BoundedParameters


def init_app(app: Flask) -> None:
    """Install the converter before any blueprint adds its routes, and the request check."""
    app.request_class = TrackerRequest
    app.url_map.converters["int"] = BoundedIntegerConverter
    app.url_map.converters["bigint"] = BigIdConverter
    app.before_request(_refuse_hostile_parameters)


class BadJson(ValueError):
    """A request body that is not JSON we accept; the message says why.

    `too_deep` marks a body refused before parsing (400); anything else is malformed input
    the endpoint answers as it answers other malformed facts.
    """

    def __init__(self, message: str, *, too_deep: bool = False) -> None:
        super().__init__(message)
        self.too_deep = too_deep


def _finite_float(text: str) -> float:
    value = float(text)
    if value in (float("inf"), float("-inf")):
        raise BadJson(f"number {text[:30]} is out of range")
    return value


def _no_constant(name: str) -> Any:
    raise BadJson(f"{name} is not a JSON number")


def nesting_depth(text: str) -> int:
    """How deeply brackets nest in a JSON text, counted without parsing (strings skipped)."""
    depth = deepest = 0
    in_string = escaped = False
    for char in text:
        if in_string:
            if escaped:
                escaped = False
            elif char == "\\":
                escaped = True
            elif char == '"':
                in_string = False
        elif char == '"':
            in_string = True
        elif char in "[{":
            depth += 1
            deepest = max(deepest, depth)
        elif char in "]}":
            depth -= 1
    return deepest


def json_body() -> Any:
    """The request's JSON, or BadJson: too deep, not JSON, or numbers no fact can be."""
    text = request.get_data(as_text=True)
    limit = int(current_app.config.get("MAX_JSON_DEPTH", 32))
    if text.count("[") + text.count("{") > limit and nesting_depth(text) > limit:
        raise BadJson(f"JSON nests deeper than {limit} levels", too_deep=True)
    try:
        return json.loads(text, parse_float=_finite_float, parse_constant=_no_constant)
    except BadJson:
        raise
    except (ValueError, RecursionError) as exc:
        raise BadJson("the body is not valid JSON") from exc
