"""`flask eligibility evaluate FILE|-`, `flask ladder recompute|rebuild-history|thresholds`:
the engine and its upkeep from a shell, through the same calls as the pages."""

from __future__ import annotations

import json
import sys
from decimal import Decimal, InvalidOperation

import click
from flask.cli import AppGroup

from tracker.errors import FieldError
from tracker.extensions import db
from tracker.ladder.rules import FactsError
from tracker.ladder.thresholds import change_local_thresholds

eligibility_cli = AppGroup("eligibility", help="Eligibility rules engine (eligibility.md).")
ladder_cli = AppGroup("ladder", help="Gradient-growth ladder upkeep.")


def _fail(errors: list[dict[str, str]]) -> None:
    click.echo(json.dumps({"error": "invalid_facts", "errors": errors}, ensure_ascii=False),
               err=True)
    sys.exit(2)


@eligibility_cli.command("evaluate")
@click.argument("source", type=click.File("r", encoding="utf-8"))
def evaluate_command(source) -> None:
    """Evaluate facts from FILE (or - for stdin); result JSON on stdout, exit 2 if malformed."""
    from tracker.ladder.results import evaluate_facts

    try:
        facts = json.load(source)
    except json.JSONDecodeError as exc:
        _fail([{"field": "", "message": f"不是有效的 JSON：{exc.msg}（第{exc.lineno}行）"}])
    try:
        result = evaluate_facts(facts)
    except FactsError as exc:
        _fail(exc.errors)
    click.echo(json.dumps(result, ensure_ascii=False, indent=2))


@ladder_cli.command("recompute")
def recompute_command() -> None:
    """Refresh every active firm's rung and eligibility results now, in this process (the
    nightly job does the same work fanned out to the workers)."""
    from tracker.ladder.tasks import recompute_all_inline

    click.echo(f"recomputed {recompute_all_inline()} enterprises")


def _threshold_value(text: str) -> Decimal | str:
    """Numbers exact (money in 元, percentages as typed); anything else stays text (source)."""
    try:
        number = Decimal(text)
    except InvalidOperation:
        return text
    return number if number.is_finite() else text


@ladder_cli.command("thresholds")
@click.argument("kind")
@click.argument("settings", nargs=-1, metavar="KEY=VALUE...")
def thresholds_command(kind: str, settings: tuple[str, ...]) -> None:
    """Set KIND's local thresholds (money in 元), e.g. min_revenue=50000000 source=纪要;
    every firm is then recomputed on a worker, as after a change on the admin page."""
    values: dict[str, Decimal | str] = {}
    for setting in settings:
        key, sep, text = setting.partition("=")
        if not sep or not key:
            click.echo(f"{setting}: 应写成 KEY=VALUE", err=True)
            sys.exit(2)
        values[key.strip()] = _threshold_value(text.strip())
    try:
        row = change_local_thresholds(kind, values)
    except FieldError as exc:
        db.session.rollback()
        for field, message in exc.errors.items():
            click.echo(f"{field}: {message}", err=True)
        sys.exit(2)
    db.session.commit()
    click.echo(json.dumps({"kind": row.kind, "values": row.values}, ensure_ascii=False))


@ladder_cli.command("rebuild-history")
def rebuild_history_command() -> None:
    """Re-date every firm's ladder history from its titles where the stored one disagrees."""
    from tracker.ladder.services import rebuild_all_histories

    count = rebuild_all_histories()
    db.session.commit()
    click.echo(f"rebuilt {count} ladder histories")
