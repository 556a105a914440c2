"""`flask webhooks sweep|send-due`: the beat sweep and the delivery, by hand (no worker needed)."""

from __future__ import annotations

import json

import click
from flask.cli import AppGroup

from tracker.extensions import begins_as_reader, db

webhooks_cli = AppGroup("webhooks", help="Outgoing webhooks: expiries, reaper, delivery.")


@webhooks_cli.command("sweep")
def sweep_command() -> None:
    """Record expiries, reclaim dead claims and enqueue what is due (as beat does)."""
    from tracker.webhooks.tasks import sweep_now

    click.echo(json.dumps(sweep_now()))


@begins_as_reader  # waits on the receivers, as the deliver task does (begins_as_writer=False)
@webhooks_cli.command("send-due")
@click.option("--limit", default=200, show_default=True, help="deliveries to send at most")
def send_due_command(limit: int) -> None:
    """Send the due pending deliveries in this process, one claim each."""
    from tracker.webhooks import services
    from tracker.webhooks.tasks import deliver

    counts: dict[str, int] = {}
    due = services.due_ids(limit)
    db.session.commit()  # ends the read: each claim begins a transaction with its write
    for delivery_id in due:
        outcome = deliver.run(delivery_id)
        counts[outcome] = counts.get(outcome, 0) + 1
    click.echo(json.dumps(counts))
