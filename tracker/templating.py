"""Template filters: 万元 with separators, Beijing time, labels for codes."""

from __future__ import annotations

from datetime import date, datetime
from decimal import Decimal

from flask import Flask
from flask_babel import get_locale

from tracker import labels
from tracker.accounts.roles import ROLE_LABELS, Role
from tracker.clock import to_local, today
from tracker.enterprises.zones import field_label, zone_label
from tracker.ladder.rules import KINDS as RUNG_LABELS

WAN = Decimal(10000)


def wan(value: Decimal | int | None, places: int = 2) -> str:
    """元 -> '1,234.56' 万元 (the bureau's forms show 万元)."""
    if value is None:
        return "—"
    amount = Decimal(value) / WAN
    text = f"{amount:,.{places}f}"
    return text


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


def init_app(app: Flask) -> None:
    app.jinja_env.filters.update(
        wan=wan, localdt=localdt, datefmt=datefmt, number=number,
        zone_label=zone_label, field_label=field_label,
    )

    @app.context_processor
    def globals_():
        return {"current_locale": str(get_locale() or "zh_CN"), "today": today(),
                "languages": app.config["LANGUAGES"], "view_endpoints": app.view_functions,
                "role_label": role_label, "rung_labels": RUNG_LABELS, **labels.template_globals()}
