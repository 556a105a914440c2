"""`flask webhooks sweep|send-due`: the beat sweep and the delivery, by hand (no worker needed)."""

from __future__ import annotations

import json

import click
from flask.cli import AppGroup

webhooks_cli = AppGroup("webhooks", help="Outgoing webhooks: expiries, reaper, delivery.")


@webhooks_cli.command("sweep")
def sweep_command() -> None:
    """Record expiries, reclaim dead claims and enqueue what is due (as beat does)."""
    from tracker.webhooks.tasks import sweep_now

    click.echo(json.dumps(sweep_now()))


@webhooks_cli.command("send-due")
@click.option("--limit", default=200, show_default=True, help="deliveries to send at most")
def send_due_command(limit: int) -> None:
    """Send the due pending deliveries in this process, one claim each."""
    from tracker.webhooks import services
    from tracker.webhooks.tasks import deliver

    counts: dict[str, int] = {}
    for delivery_id in services.due_ids(limit):
        outcome = deliver.run(delivery_id)
        counts[outcome] = counts.get(outcome, 0) + 1
    click.echo(json.dumps(counts))
