"""`flask targets set METRIC YEAR VALUE`: record a plan target from a shell, as the page does."""

from __future__ import annotations

import sys

import click
from flask.cli import AppGroup

from tracker.dashboard import history, targets
from tracker.errors import FieldError
from tracker.extensions import db

targets_cli = AppGroup("targets", help="Plan targets the dashboard measures progress against.")


@targets_cli.command("set")
@click.argument("metric")
@click.argument("year", type=int)
@click.argument("value", type=int)
@click.option("--source", default=targets.PLAN_DOCUMENT, show_default=True,
              help="The document the number comes from.")
def set_command(metric: str, year: int, value: int, source: str) -> None:
    """Record METRIC's target for YEAR (exit 2 when refused)."""
    try:
        row = targets.save_target(metric, year, value, source)
    except FieldError as exc:
        db.session.rollback()
        for field, message in exc.errors.items():
            click.echo(f"{field}: {message}", err=True)
        sys.exit(2)
    db.session.commit()
    click.echo(f"{row.metric} {row.year}: {row.value}（{row.source}）")


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

    written = aggregates.refresh()
    db.session.commit()
    click.echo(f"wrote {written} figure rows")
