"""Helpers shared by the tests that walk the URL map (the fuzz test and the access matrix)."""

from __future__ import annotations

import re
from html.parser import HTMLParser

from werkzeug.routing import IntegerConverter

#: path parameters that are not ids, with a value that exists
STRING_PARAMS: dict[str, str] = {"code": "en", "kind": "enterprises", "token": "x" * 20,
                                 "filename": "tracker.css"}
# charts
STRING_PARAMS["chart"] = "trends"


class Forms(HTMLParser):
    """The POST forms of a page: action and the values a browser would submit."""

    def __init__(self) -> None:
        super().__init__()
        self.forms: list[tuple[str, dict[str, str]]] = []
        self._current: dict[str, str] | None = None
        self._select: str | None = None
        self._textarea: str | None = None

    def handle_starttag(self, tag, attrs):
        a = dict(attrs)
        if tag == "form":
            if (a.get("method") or "get").lower() == "post":
                self._current = {}
                self.forms.append((a.get("action") or "", self._current))
            return
        if self._current is None:
            return
        name = a.get("name")
        if tag == "input" and name and a.get("type") not in ("file", "submit", "button"):
            if a.get("type") in ("checkbox", "radio") and "checked" not in a:
                return
            self._current.setdefault(name, a.get("value") or "")
        elif tag == "select" and name:
            self._select = name
            self._current.setdefault(name, "")
        elif tag == "option" and self._select:
            if not self._current[self._select] or "selected" in a:
                self._current[self._select] = a.get("value") or ""
        elif tag == "textarea" and name:
            self._textarea = name
            self._current.setdefault(name, "")

    def handle_endtag(self, tag):
        if tag == "form":
            self._current = None
        elif tag == "select":
            self._select = None
        elif tag == "textarea":
            self._textarea = None

    def handle_data(self, data):
        if self._textarea and self._current is not None:
            self._current[self._textarea] += data


def fill_path(rule, ints: dict[str, int | str]) -> str:
    """The rule's path with ids from `ints` (1 when absent) and a real value for the rest."""
    values = {}
    for name, converter in rule._converters.items():
        if isinstance(converter, IntegerConverter):
            values[name] = ints.get(name, 1)
        else:
            values[name] = STRING_PARAMS.get(name, "x")
    path = rule.rule
    for name, value in values.items():
        path = re.sub(rf"<(?:[^:<>]+:)?{name}>", str(value), path)
    return path


def int_params(rule) -> list[str]:
    """The rule's integer path parameters (the app's bounded converter is an IntegerConverter)."""
    return [name for name, converter in rule._converters.items()
            if isinstance(converter, IntegerConverter)]
