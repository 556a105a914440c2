"""Sentences that are stored now and read later, by someone who may read another language.

A `Message` is a str in the current language (so forms and exceptions use it as before) that
also remembers its catalogue id (the Chinese source text) and its parameters. Whatever stores
it (an import job's row errors, say) keeps `stored(msg)` and shows it with `render(...)` in the
viewer's language. Parameters may themselves be messages (a label, a money amount) or lists of
them (joined with the language's list separator). A stored value that is a plain string (old
records, or text from outside the catalogue) is shown as the catalogue's translation of that
exact text if there is one, else as stored.
"""

from __future__ import annotations

from collections.abc import Mapping
from datetime import date
from decimal import Decimal
from typing import Any

from flask import has_app_context
from flask_babel import gettext


class Message(str):
    """A catalogue sentence with its id and parameters (see the module docstring)."""

    msgid: str
    params: dict[str, Any]

    def __new__(cls, msgid: str, **params: Any) -> Message:
        text = _format(msgid, params)
        obj = super().__new__(cls, text)
        obj.msgid, obj.params = msgid, params
        return obj

    def __reduce__(self):  # pickling (Celery results) keeps the id and parameters
        return (_rebuild, (self.msgid, self.params))


def _rebuild(msgid: str, params: dict[str, Any]) -> Message:
    return Message(msgid, **params)


def _format(msgid: str, params: Mapping[str, Any]) -> str:
    shown = {k: _shown(v) for k, v in params.items()}
    if has_app_context():
        return gettext(msgid, **shown)
    return msgid % shown if shown else msgid


def _shown(value: Any) -> Any:
    """A parameter as the current reader sees it."""
    if isinstance(value, Message):
        return str(value)
    if isinstance(value, Mapping) and "msgid" in value:
        return render(value)
    if isinstance(value, list | tuple):
        separator = gettext("、") if has_app_context() else "、"
        return separator.join(str(_shown(v)) for v in value)
    return value


def _json(value: Any) -> Any:
    if isinstance(value, Message):
        return stored(value)
    if isinstance(value, list | tuple):
        return [_json(v) for v in value]
    if isinstance(value, Decimal):
        return str(value)
    if isinstance(value, date):
        return value.isoformat()
    return value


def stored(message: Any) -> dict[str, Any] | str:
    """What to keep in a JSON column: {"msgid", "params"} for a Message, else the text."""
    if isinstance(message, Message):
        return {"msgid": message.msgid,
                "params": {k: _json(v) for k, v in message.params.items()}}
    return str(message)


def source_text(message: Any) -> str:
    """The Chinese sentence of a message (for readers of stored JSON that predates ids)."""
    if isinstance(message, Message):
        shown = {k: source_text(v) if isinstance(v, Message)
                 else "、".join(source_text(x) for x in v) if isinstance(v, list | tuple)
                 else v for k, v in message.params.items()}
        return message.msgid % shown if shown else message.msgid
    return str(message)


def render(value: Any) -> str:
    """A stored message (dict with msgid/params, or plain text) in the reader's language."""
    if isinstance(value, Mapping) and "msgid" in value:
        params = {k: _shown(_revive(v)) for k, v in (value.get("params") or {}).items()}
        try:
            return gettext(value["msgid"], **params)
        except (KeyError, TypeError, ValueError):  # a catalogue entry out of step
            return str(value["msgid"])
    if isinstance(value, str) and value:
        return gettext(value)  # an old record: its translation if the exact text is known
    return "" if value is None else str(value)


def _revive(value: Any) -> Any:
    if isinstance(value, list):
        return [_revive(v) for v in value]
    return value


def render_problem(problem: Mapping[str, Any]) -> dict[str, Any]:
    """A stored row error or warning with its message (and our own column label) translated."""
    out = dict(problem)
    if "msgid" in problem:
        out["message"] = render({"msgid": problem["msgid"], "params": problem.get("params")})
    else:
        out["message"] = render(problem.get("message"))
    if problem.get("column_is_label"):
        out["column"] = gettext(problem["column"])
    return out
