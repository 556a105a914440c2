"""The dashboard's plan card: the current period's computed indicators, linking to the page."""

from __future__ import annotations

from typing import Any

from tracker.indicators import services


def card_context(user: Any) -> dict[str, Any]:
    """Plain figures of the user's scope (cacheable); nothing for roles the page refuses."""
    if not services.may_read(user):
        return {"plan_report": None}
    period = services.current_period()
    if period is None:
        return {"plan_report": None}
    return {"plan_report": services.report(user, period)}
