"""The plan's seed: the migration's data step, the CLI and the demo add the same rows once."""

from __future__ import annotations

from decimal import Decimal

from sqlalchemy import func, select, text

from tests.migration_support import upgrade_with_rows
from tracker.extensions import db
from tracker.indicators import catalogue
from tracker.indicators.models import PlanIndicator, PlanPeriod, PlanTarget


def _read_plan(conn, _tables):
    periods = conn.execute(text(
        "SELECT code, name, start_year, end_year, closed, source_title FROM plan_periods "
        "ORDER BY start_year")).all()
    hnte = conn.execute(text(
        "SELECT t.target, t.baseline FROM plan_targets t "
        "JOIN plan_indicators i ON i.id = t.indicator_id "
        "JOIN plan_periods p ON p.id = t.period_id "
        "WHERE i.code = 'hnte' AND p.code = '14th'")).one()
    return ([tuple(p) for p in periods], tuple(hnte),
            conn.scalar(text("SELECT count(*) FROM plan_targets")))


def test_the_migration_seeds_both_periods_and_the_plans_targets(tmp_path):
    periods, hnte, targets = upgrade_with_rows(tmp_path, None, lambda _t: (), _read_plan)
    assert periods == [
        ("14th", "十四五", 2021, 2025, 1, "滨海新区科技创新“十四五”规划"),
        ("15th", "十五五", 2026, 2030, 0, None)]
    assert (Decimal(str(hnte[0])), Decimal(str(hnte[1]))) == (5800, 3270)
    assert targets == 2 * len(catalogue.INDICATORS)


def test_seeding_twice_adds_nothing_and_keeps_edits(app, plan):
    target = plan.target("15th", "hnte")
    target.target = Decimal(9000)
    db.session.flush()
    result = app.test_cli_runner().invoke(args=["indicators", "seed"])
    assert result.exit_code == 0 and "0 row(s) added" in result.output
    assert db.session.scalar(select(func.count(PlanPeriod.id))) == 2
    assert db.session.scalar(select(func.count(PlanIndicator.id))) == len(catalogue.INDICATORS)
    assert db.session.scalar(select(func.count(PlanTarget.id))) == 2 * len(catalogue.INDICATORS)
    db.session.refresh(target)
    assert target.target == Decimal(9000)
