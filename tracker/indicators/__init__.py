"""Plan periods and the plan's indicators: targets, baselines, yearly figures and progress."""


def init_app(app):
    from tracker.dashboard import cards
    from tracker.indicators import models  # noqa: F401 - register the tables
    from tracker.indicators.cards import card_context
    from tracker.indicators.cli import indicators_cli
    from tracker.indicators.status import STATUS_LABELS
    from tracker.indicators.views import bp

    app.register_blueprint(bp)
    app.cli.add_command(indicators_cli)
    cards.register("indicators", 10, "indicators/_card.html", card_context, cacheable=True)
    app.jinja_env.globals["plan_status_labels"] = STATUS_LABELS
    app.jinja_env.filters["figure"] = _figure
    app.jinja_env.filters["stored_text"] = _stored_text


def _stored_text(text: str | None) -> str:
    """A label stored as data, through the catalogue (no %-formatting: "稳定在8%" is text)."""
    from flask_babel import gettext

    return gettext(text) if text else ""


def _figure(value, decimals: int = 0) -> str:
    """A figure with thousands separators and the indicator's decimals; — when unknown."""
    from decimal import Decimal

    if value is None:
        return "—"
    quantum = Decimal(1).scaleb(-max(int(decimals), 0))
    shown = Decimal(value).quantize(quantum)
    if shown == shown.to_integral_value():
        return f"{int(shown):,}"
    return f"{shown.normalize():,f}"
