"""Template filters: 万元 with separators, Beijing time, labels for codes."""

from __future__ import annotations

from collections.abc import Callable
from datetime import date, datetime
from decimal import Decimal
from typing import Any

from flask import Flask, request, url_for
from markupsafe import Markup

from tracker import labels
from tracker.accounts.roles import ROLE_LABELS, Role
from tracker.clock import to_local, today
from tracker.enterprises.models import MONEY_FIELDS
from tracker.enterprises.zones import field_label, zone_label
from tracker.i18n import gettext, locale
from tracker.money import format_wan
from tracker.vocabulary import KINDS as RUNG_LABELS

wan = format_wan  # the template filter


def localdt(value: datetime | None, fmt: str = "%Y-%m-%d %H:%M") -> str:
    local = to_local(value)
    return local.strftime(fmt) if local else "—"


def datefmt(value: date | None) -> str:
    return value.isoformat() if value else "—"


def number(value: int | None) -> str:
    return "—" if value is None else f"{value:,}"


def role_label(role: str) -> str:
    try:
        return str(ROLE_LABELS[Role(role)])
    except ValueError:
        return role


def audit_value(value: Any, field: str, entity_type: str | None = None) -> str:
    """An audited value as a person reads it: labels for codes and ids, 万元 for money, 是/否."""
    if value in (None, "", []):
        return "∅"
    if isinstance(value, bool):
        return gettext("是") if value else gettext("否")
    if field in MONEY_FIELDS:
        try:
            return wan(Decimal(str(value))) + " " + gettext("万元")
        except ArithmeticError:
            return str(value)
    if isinstance(value, list):
        return gettext("、").join(labels.value_label(field, v, entity_type) for v in value)
    return labels.value_label(field, value, entity_type)


def url_each(endpoint: str, key: str, **values: Any) -> Callable[[Any], str]:
    """url_for(endpoint, **{key: id}, **values) as a function of the (integer) id: the URL map
    builds one URL and each row's is formatted from it (a list of 25-200 rows built each)."""
    probe = 987654321
    built = url_for(endpoint, **{key: probe}, **values)
    head, found, tail = built.partition(str(probe))
    if not found or str(probe) in tail:  # an unexpected shape: build each one
        return lambda value: url_for(endpoint, **{key: value}, **values)
    # the int converter writes str(int(value)), as this does
    return lambda value: f"{head}{int(value)}{tail}"


def _frozen(part: Any) -> Any:
    """A key part as something hashable: lists (choices) become tuples, recursively."""
    if isinstance(part, list | tuple):
        return tuple(_frozen(p) for p in part)
    return part


class Fragments:
    """Rendered template fragments kept by what they depend on, for
    `{% call fragment(name, *key) %}…{% endcall %}`: the body renders once per distinct key.

    The key must name everything the body's output depends on (the locale, a picker's
    choices…); a fragment that shows request data (a CSRF token, a submitted value) cannot be
    kept. Per app: a test's app never sees another's fragments."""

    #: fragments kept at most; past it the memo starts over (keys are few: the navigation's
    #: pages × locales × admin or not, the detail page's forms × locales × choices)
    LIMIT = 2048

    def __init__(self) -> None:
        self.kept: dict[tuple, Markup] = {}

    def __call__(self, name: str, *key: Any, caller: Callable[[], str]) -> Markup:
        full = (name, *(_frozen(part) for part in key))
        try:
            return self.kept[full]
        except KeyError:
            pass
        html = Markup(caller())  # noqa: S704 - the body is template output, already escaped
        if len(self.kept) >= self.LIMIT:
            self.kept.clear()
        self.kept[full] = html
        return html


def fixed_url(endpoint: str, **values: Any) -> str:
    """url_for(endpoint, **values) for the layout's links that are the same on every page
    (stylesheets, scripts, the brand, search, logout): built once per app and mount point.
    Only for constant arguments: each distinct call is kept for the life of the process."""
    from flask import current_app

    kept = current_app.extensions.setdefault("tracker.fixed_urls", {})
    key = (request.script_root, endpoint, *sorted(values.items()))
    found = kept.get(key)
    if found is None:
        found = kept[key] = url_for(endpoint, **values)
    return found


def init_app(app: Flask) -> None:
    app.jinja_env.globals["url_each"] = url_each
    app.jinja_env.globals["fragment"] = Fragments()
    app.jinja_env.globals["fixed_url"] = fixed_url
    app.jinja_env.filters.update(
        audit_value=audit_value,
        wan=wan, localdt=localdt, datefmt=datefmt, number=number,
        zone_label=zone_label, field_label=field_label,
    )

    @app.context_processor
    def globals_():
        return {"current_locale": str(locale() or "zh_CN"), "today": today(),
                "languages": app.config["LANGUAGES"], "view_endpoints": app.view_functions,
                "role_label": role_label, "rung_labels": RUNG_LABELS, **labels.template_globals()}
