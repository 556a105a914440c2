"""`flask check [--json]`: verify the stored picture against the rules; exit 1 on drift."""

from __future__ import annotations

import json
import sys

import click

from tracker.extensions import begins_as_reader, db


@begins_as_reader  # reads at length: no write lock meanwhile (SQLite); the save after is short
@click.command("check")
@click.option("--json", "as_json", is_flag=True, help="Print the report as JSON.")
@click.option("--save", is_flag=True, help="Also store the report as the latest run.")
@click.option("--all", "everything", is_flag=True,
              help="Also run invariants excluded while their fix is pending.")
def check_command(as_json: bool, save: bool, everything: bool) -> None:
    """Check every invariant; exit 0 when the data is consistent, 1 otherwise."""
    from tracker.integrity.checks import INVARIANTS, run_checks
    from tracker.integrity.services import record_run

    report = run_checks(list(INVARIANTS) if everything else None)
    if save:
        record_run(report, trigger="cli")  # in a transaction of its own, after the read
        db.session.commit()
    if as_json:
        click.echo(json.dumps(report.as_dict(), ensure_ascii=False))
    else:
        for name, rows in report.checked.items():
            wrong = sum(1 for v in report.violations if v.invariant == name)
            click.echo(f"{'FAIL' if wrong else 'ok  '} {name}: {rows} checked"
                       + (f", {wrong} violation(s)" if wrong else ""))
        for violation in report.violations:
            click.echo(f"  {violation.invariant} {violation.subject}: {violation.detail}")
        click.echo("consistent" if report.ok else f"{len(report.violations)} violation(s)")
    sys.exit(0 if report.ok else 1)
