"""`flask incubation …`: late tenant reports and carrier checks from the shell."""

from __future__ import annotations

import click
from flask.cli import AppGroup
from sqlalchemy import select

from tracker.extensions import begins_as_reader, db
from tracker.incubation import services
from tracker.incubation.models import Carrier, ReportingCycle, TenantReport

incubation_cli = AppGroup("incubation", help="Incubation chain: carriers, tenants, reports.")


class _System:
    """The shell acts with bureau-wide read scope."""

    is_authenticated = True
    role = "admin"
    id = None
    zone = None
    carrier_id = None


@begins_as_reader  # only lists
@incubation_cli.command("late-reports")
@click.argument("cycle_id", type=int)
def late_reports(cycle_id: int) -> None:
    """List tenants whose report for CYCLE_ID is missing after its due date."""
    cycle = db.session.get(ReportingCycle, cycle_id)
    if cycle is None:
        raise click.ClickException(f"no reporting cycle {cycle_id}")
    if not services.is_late(cycle, None):
        click.echo(f"{cycle.name}: due {cycle.due_on.isoformat()}, nothing is late yet")
        return
    rows = db.session.scalars(services.reports_query(cycle, _System())
                              .where(TenantReport.id.is_(None))).all()
    for tenancy in rows:
        click.echo(f"{tenancy.carrier.name}\t{tenancy.enterprise.uscc}\t{tenancy.enterprise.name}")
    click.echo(f"{len(rows)} late", err=True)


@begins_as_reader  # only shows
@incubation_cli.command("check")
@click.argument("carrier_id", type=int)
def check(carrier_id: int) -> None:
    """Show a carrier's figures against its scheme's quantitative criteria."""
    carrier = db.session.scalar(select(Carrier).where(Carrier.id == carrier_id))
    if carrier is None:
        raise click.ClickException(f"no carrier {carrier_id}")
    result = services.carrier_check(carrier)
    if result.rules is None:
        click.echo(f"{carrier.name}: 暂无已确认的量化认定条件")
        return
    click.echo(f"{carrier.name}: {result.rules.title}")
    for row in result.results:
        click.echo(f"  [{row.status}] {row.criterion.label}: {row.actual_text} "
                   f"({row.required_text}; {row.criterion.source})")


@incubation_cli.command("load-demo")
def load_demo() -> None:
    """Add the incubation demo (chain moves, a graduate, proposals, a report cycle)."""
    from tracker.incubation.demo import load_incubation_demo

    load_incubation_demo()
    db.session.commit()
    click.echo("incubation demo loaded")
