"""Outgoing webhooks: admin-registered endpoints, signed deliveries, the delivery ledger."""

from __future__ import annotations

import os

#: delivery settings with their defaults; each may be set in the environment
SETTINGS = {
    "WEBHOOK_TIMEOUT": 10.0,  # seconds for a whole request (a deadline, not per socket read)
    "WEBHOOK_MAX_RESPONSE_BYTES": 65536,  # read at most this much of an answer
    "WEBHOOK_LEASE_MARGIN": 60,  # a claim's lease is the request deadline plus this
    "WEBHOOK_RETRY_HOURS": 24.0,  # transient failures are retried this long, then `expired`
    "WEBHOOK_BACKOFF_BASE": 30.0,
    "WEBHOOK_BACKOFF_MAX": 3600.0,
    "WEBHOOK_SWEEP_BATCH": 200,
}


def init_app(app):
    for name, default in SETTINGS.items():
        app.config.setdefault(name, type(default)(os.environ.get(name, default)))

    from tracker.webhooks import models  # noqa: F401 - models register their tables
    from tracker.webhooks.cli import webhooks_cli
    from tracker.webhooks.views import bp

    app.register_blueprint(bp)
    app.cli.add_command(webhooks_cli)
