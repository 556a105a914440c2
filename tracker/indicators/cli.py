"""`flask indicators seed`: add the catalogue's plan periods, indicators and targets."""

from __future__ import annotations

import click
from flask.cli import AppGroup

from tracker.extensions import db
from tracker.indicators.seed import seed_plan

indicators_cli = AppGroup("indicators", help="Plan periods and indicators.")


@indicators_cli.command("seed")
def seed_command() -> None:
    """Insert missing periods, indicators and targets (rows already there stay as they are)."""
    added = seed_plan(db.session.connection())
    db.session.commit()
    click.echo(f"{added} row(s) added")
