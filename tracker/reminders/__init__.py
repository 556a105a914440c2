"""Reminders: rules, the sweep, delivery over SMTP and the ledger."""

from __future__ import annotations

import os

#: delivery settings with their defaults; each may be set in the environment
SETTINGS = {
    "REMINDER_SMTP_TIMEOUT": 20,  # seconds for a whole SMTP conversation (a deadline)
    # a claim's lease is the conversation deadline plus this margin; the reaper takes back only
    # rows whose lease ran out (their sender renews it before each conversation)
    "REMINDER_STUCK_SECONDS": 600,
    # a transient failure is retried until the end of the due date, and at least this long
    # after the reminder was made; then it is `expired`
    "REMINDER_RETRY_MIN_HOURS": 72.0,
    "REMINDER_BACKOFF_BASE": 60,
    "REMINDER_BACKOFF_MAX": 3600,
    "REMINDER_BATCH_SIZE": 50,
    "REMINDER_MAX_FANOUT": 20,
}


def init_app(app):
    for name, default in SETTINGS.items():
        app.config.setdefault(name, type(default)(os.environ.get(name, default)))

    from tracker.dashboard import cards
    from tracker.enterprises import panels
    from tracker.ladder import results
    from tracker.reminders import (
        incremental,
        models,  # noqa: F401 - models register their tables
    )
    from tracker.reminders.cli import reminders_cli
    from tracker.reminders.views import bp, dashboard_card, enterprise_panel

    app.register_blueprint(bp)
    app.cli.add_command(reminders_cli)
    _register_labels()
    incremental.install()
    # a worker's recompute storing new verdicts (or clearing a stale mark) may make firms
    # newly eligible outside the after-save pipeline: the next scheduled sweep looks at them
    if incremental.mark not in results.RESULTS_FRESH:
        results.RESULTS_FRESH.append(incremental.mark)
    cards.register("reminders", 50, "reminders/_card.html", dashboard_card)
    panels.register("reminders", 60, "reminders/_panel.html", enterprise_panel)


def _register_labels() -> None:
    """Ledger statuses, rule kinds, recipients and programmes by their labels."""
    from tracker import labels
    from tracker.reminders.models import PROGRAMMES, RECIPIENT_KINDS, RULE_KINDS, STATUSES

    labels.register_values("status", STATUSES, entity_type="reminder")
    labels.register_values("kind", RULE_KINDS, entity_type="reminder_rule")
    labels.register_values("recipients", RECIPIENT_KINDS)
    labels.register_values("programme", PROGRAMMES)
