"""`flask eligibility evaluate FILE|-`, `flask ladder recompute|rebuild-history`: from a shell."""

from __future__ import annotations

import json
import sys

import click
from flask.cli import AppGroup

from tracker.ladder.rules import FactsError

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
    """Refresh every active firm's rung and eligibility results now (what the nightly job does)."""
    from tracker.ladder.tasks import recompute_all

    click.echo(f"recomputed {recompute_all()} enterprises")


@ladder_cli.command("rebuild-history")
def rebuild_history_command() -> None:
    """Re-date every firm's ladder history from its titles where the stored one disagrees."""
    from tracker.extensions import db
    from tracker.ladder.services import rebuild_all_histories

    count = rebuild_all_histories()
    db.session.commit()
    click.echo(f"rebuilt {count} ladder histories")
