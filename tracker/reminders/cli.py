"""`flask reminders plan|sweep|seed-rules|reap|digest`."""

from __future__ import annotations

import json
from datetime import date

import click
from flask.cli import AppGroup

from tracker.extensions import begins_as_reader, db

reminders_cli = AppGroup("reminders", help="Reminder rules, sweeps and delivery.")


def _parse_day(_ctx, _param, value: str | None) -> date | None:
    if value is None:
        return None
    try:
        return date.fromisoformat(value)
    except ValueError as exc:
        raise click.BadParameter("日期格式须为 YYYY-MM-DD") from exc


@begins_as_reader  # writes nothing
@reminders_cli.command("plan")
@click.option("--as-of", "as_of", callback=_parse_day, help="date to plan for (YYYY-MM-DD)")
@click.option("--json", "as_json", is_flag=True, help="print JSON")
def plan_command(as_of: date | None, as_json: bool) -> None:
    """List what would be due on a date, without sending or writing anything."""
    from tracker.clock import today
    from tracker.reminders.sweep import plan

    day = as_of or today()
    rows = plan(day)
    db.session.rollback()  # plan writes nothing (not even the default rules)
    if as_json:
        click.echo(json.dumps({"as_of": day.isoformat(), "count": len(rows), "reminders": rows},
                              ensure_ascii=False, indent=2))
        return
    for row in rows:
        click.echo(f"{row['due_on']} {row['step']:>8} {row['rule']:<30} "
                   f"{row['enterprise'] or '-'} -> {row['to']} ({row['channel']})"
                   + (f" [{row['already']}]" if row["already"] else ""))
    click.echo(f"{len(rows)} reminder(s) due on {day.isoformat()}")


@reminders_cli.command("sweep")
@click.option("--as-of", "as_of", callback=_parse_day, help="sweep as if on this date")
def sweep_command(as_of: date | None) -> None:
    """Run one sweep now: insert what is due and enqueue the sending."""
    from tracker.reminders.tasks import sweep_now

    result = sweep_now(as_of)
    total = sum(result["inserted"].values())
    click.echo(f"inserted {total} reminder(s); enqueued {result['batches']} batch task(s)")
    for code, count in sorted(result["inserted"].items()):
        if count:
            click.echo(f"  {code}: {count}")


@reminders_cli.command("seed-rules")
def seed_rules_command() -> None:
    """Add the default reminder rules that are missing."""
    from tracker.reminders.defaults import seed_rules

    added = seed_rules()
    db.session.commit()
    click.echo(f"added {added} default rule(s)")


@reminders_cli.command("reap")
def reap_command() -> None:
    """Return reminders stuck mid-send to the queue."""
    from tracker.reminders.tasks import reap

    click.echo(f"reclaimed {reap.run()} reminder(s)")


@begins_as_reader  # waits on the mail server, as the send tasks do (begins_as_writer=False)
@reminders_cli.command("send-due")
def send_due_command() -> None:
    """Send due reminders in this process (no worker needed), batch by batch."""
    from tracker.reminders.tasks import send_batch

    total: dict[str, int] = {}
    while True:
        counts = send_batch.run()
        if not counts:
            break
        for key, value in counts.items():
            total[key] = total.get(key, 0) + value
        if set(counts) <= {"retry"}:
            break
    click.echo(json.dumps(total))


@reminders_cli.command("digest")
def digest_command() -> None:
    """Build today's digests for officers who chose them."""
    from tracker.reminders.tasks import digest

    click.echo(f"built {digest.run()} digest(s)")
