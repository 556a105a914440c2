"""`flask dashboard backfill-snapshots`: write the stored month-end counts from the history."""

from __future__ import annotations

import click
from flask.cli import AppGroup

from tracker.dashboard import history
from tracker.extensions import db, writing

dashboard_cli = AppGroup("dashboard", help="The dashboard's stored figures.")


@dashboard_cli.command("backfill-snapshots")
@click.option("--until", type=click.DateTime(formats=["%Y-%m-%d", "%Y-%m"]), default=None,
              help="last month to write (default: last month)")
@click.option("--rebuild", is_flag=True, help="rewrite the months already stored too")
def backfill_command(until, rebuild: bool) -> None:
    """Write the month-end counts of every finished month from the ladder and tenancy history."""
    written = history.backfill(until.date() if until else None, rebuild=rebuild)
    db.session.commit()
    if written:
        click.echo(f"wrote {len(written)} months: {written[0]:%Y-%m} … {written[-1]:%Y-%m}")
    else:
        click.echo("no month to write")


@dashboard_cli.command("refresh-aggregates")
def refresh_aggregates_command() -> None:
    """Recount the maintained dashboard figures of every zone (as the nightly job does)."""
    from tracker.dashboard import aggregates

    with writing():  # as the nightly task: the write lock from BEGIN (SQLite)
        written = aggregates.refresh()
        db.session.commit()
    click.echo(f"wrote {written} figure rows")
