"""`flask users ...` commands."""

from __future__ import annotations

import getpass

import click
from flask.cli import AppGroup

from tracker.accounts import services
from tracker.accounts.roles import Role
from tracker.extensions import db

users_cli = AppGroup("users", help="Manage user accounts.")


@users_cli.command("create")
@click.option("--email", required=True)
@click.option("--role", required=True, type=click.Choice([r.value for r in Role]))
@click.option("--zone", default=None, help="zone code for zone staff (teda, bonded, hitech ...)")
@click.option("--carrier", "carrier_id", type=int, default=None, help="carrier id for managers")
@click.option("--name", default=None)
@click.option("--password", default=None, help="omit to be asked (or set TRACKER_PASSWORD)",
              envvar="TRACKER_PASSWORD")
def create(email, role, zone, carrier_id, name, password):
    """Create a user account."""
    if not password:
        password = getpass.getpass("Password: ")
    try:
        user = services.create_user(email, password, role, name=name, zone=zone,
                                    carrier_id=carrier_id)
    except services.AccountError as exc:
        raise click.ClickException(str(exc)) from exc
    db.session.commit()
    click.echo(f"created user {user.id} {user.email} ({user.role})")
