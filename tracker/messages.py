"""Sentences that are stored now and read later, by someone who may read another language.

A `Message` is a str in the current language (so forms and exceptions use it as before) that
also remembers its catalogue id (the Chinese source text) and its parameters. Whatever stores
it (an import job's row errors, say) keeps `stored(msg)` and shows it with `render(...)` in the
viewer's language. Parameters may themselves be messages (a label, a money amount) or lists of
them (joined with the language's list separator). A stored value that is a plain string (old
records, or text from outside the catalogue) is shown as the catalogue's translation of that
exact text, else of the first registered sentence it fills in (the way tracker/ladder/wording.py
reads the rules engine's sentences), else as stored.
"""

from __future__ import annotations

import re
from collections.abc import Iterable, Mapping
from datetime import date
from decimal import Decimal
from typing import Any

from flask import has_app_context
from flask_babel import get_locale, gettext


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
        return _plain(value)  # an old record, or text from outside the catalogue
    return "" if value is None else str(value)


#: catalogue sentences (with placeholders) that records stored before ids may hold filled in
_SENTENCES: list[tuple[str, re.Pattern[str]]] = []


def remember_sentences(templates: Iterable[str]) -> None:
    """Let plain stored text that fills in one of `templates` be translated on display."""
    known = {t for t, _p in _SENTENCES}
    _SENTENCES.extend((t, template_pattern(t)) for t in templates if t not in known)


def template_pattern(template: str) -> re.Pattern[str]:
    """A regular expression matching `template` filled in (%(name)s / %(name)d: any text)."""
    seen: set[str] = set()
    out = []
    for piece in re.split(r"(%\(\w+\)[sd]|%%)", template):
        if piece == "%%":
            out.append("%")
        elif match := re.fullmatch(r"%\((\w+)\)[sd]", piece):
            name = match.group(1)
            out.append(f"(?P={name})" if name in seen else f"(?P<{name}>.+?)")
            seen.add(name)
        else:
            out.append(re.escape(piece))
    return re.compile("^" + "".join(out) + "$", re.S)


def _plain(text: str) -> str:
    translated = gettext(text)
    locale = get_locale()
    if translated != text or locale is None or locale.language == "zh":
        return translated
    for template, pattern in _SENTENCES:
        if match := pattern.match(text):
            params = {k: _plain_part(v) for k, v in match.groupdict().items()}
            try:
                return _fill(template, params)
            except (KeyError, TypeError, ValueError):  # a catalogue entry out of step
                return text
    return text


def _fill(template: str, params: dict[str, str]) -> str:
    # %(name)d placeholders get text back from a match: give them the text form
    english = gettext(template)
    return re.sub(r"%\((\w+)\)d", r"%(\1)s", english) % params


def _plain_part(value: str) -> str:
    if "、" in value:  # a list the old sentence joined in Chinese
        return gettext("、").join(_plain(v) for v in value.split("、"))
    return _plain(value)


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
