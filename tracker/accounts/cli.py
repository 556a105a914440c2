"""`flask users ...` commands."""

from __future__ import annotations

import getpass

import click
from flask.cli import AppGroup
from sqlalchemy import select

from tracker.accounts import services, sessions
from tracker.accounts.models import User
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


@users_cli.command("end-sessions")
@click.option("--email", default=None, help="end this user's sessions")
@click.option("--all", "everyone", is_flag=True, help="end every session of every user")
def end_sessions(email, everyone):
    """Sign users out everywhere, remember-me included (e.g. after a suspected leak)."""
    if bool(email) == everyone:
        raise click.UsageError("give either --email or --all")
    if everyone:
        count = sessions.end_every_session()
    else:
        user = db.session.scalar(select(User).where(User.email == email.strip().lower()))
        if user is None:
            raise click.ClickException(f"no user {email}")
        count = sessions.end_all_sessions(user.id)
    db.session.commit()
    click.echo(f"ended {count} session(s)")


tokens_cli = AppGroup("tokens", help="Personal API tokens.")


@tokens_cli.command("create")
@click.option("--email", required=True, help="the user the token acts as")
@click.option("--name", default=None, help="a label for the system that will hold it")
@click.option("--expires-days", type=int, default=None,
              help="days until it expires (default API_TOKEN_DAYS, 365)")
@click.option("--read-only", is_flag=True, help="the token may read but never write")
def create_token(email, name, expires_days, read_only):
    """Issue an API token and print it once (only its hash is stored)."""
    from tracker.accounts import api_tokens
    from tracker.errors import FieldError

    user = db.session.scalar(select(User).where(User.email == email.strip().lower()))
    if user is None or not user.active:
        raise click.ClickException(f"no active user {email}")
    try:
        token, row = api_tokens.issue(user, name=name, days=expires_days, read_only=read_only)
    except FieldError as exc:
        raise click.ClickException(str(exc)) from exc
    db.session.commit()
    click.echo(f"token {row.id} for {user.email} ({user.role}), expires "
               f"{row.expires_at:%Y-%m-%d}{', read-only' if row.read_only else ''}:", err=True)
    click.echo(token)
