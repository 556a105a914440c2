"""Seeding the plan periods, indicators and 十四五 targets: one function for the migration's
data step, the demo and the tests, idempotent (rows already there are left as admins left them).
"""

from __future__ import annotations

from sqlalchemy import (
    Boolean,
    Connection,
    Date,
    Integer,
    Numeric,
    String,
    column,
    insert,
    select,
    table,
)

from tracker.indicators import catalogue

# Lightweight tables naming only the columns seeded: the migration's data step runs this too,
# and must keep working when later revisions add columns to the models.
PERIODS = table(
    "plan_periods", column("id", Integer), column("code", String), column("name", String),
    column("start_year", Integer), column("end_year", Integer), column("closed", Boolean),
    column("source_title", String), column("source_number", String),
    column("source_date", Date), column("version", Integer))
INDICATORS = table(
    "plan_indicators", column("id", Integer), column("code", String), column("group", String),
    column("label", String), column("unit", String), column("method", String),
    column("basis", String), column("decimals", Integer), column("lower_is_better", Boolean),
    column("position", Integer))
TARGETS = table(
    "plan_targets", column("id", Integer), column("period_id", Integer),
    column("indicator_id", Integer), column("target", Numeric(18, 4)),
    column("target_note", String), column("baseline", Numeric(18, 4)),
    column("version", Integer))


def seed_plan(connection: Connection) -> int:
    """Insert the catalogue's missing periods, indicators and targets; returns rows added.

    Works on a bare connection (Alembic's) as well as the session's, through Core statements.
    """
    added = 0
    periods = dict(connection.execute(select(PERIODS.c.code, PERIODS.c.id)).all())
    for code, (name, start, end, closed, title, number, issued) in catalogue.PERIODS.items():
        if code not in periods:
            periods[code] = connection.execute(insert(PERIODS).values(
                code=code, name=name, start_year=start, end_year=end, closed=closed,
                source_title=title, source_number=number, source_date=issued, version=1,
            ).returning(PERIODS.c.id)).scalar_one()
            added += 1
    indicators = dict(connection.execute(select(INDICATORS.c.code, INDICATORS.c.id)).all())
    for position, (code, group, label, unit, method, basis, decimals) in enumerate(
            catalogue.INDICATORS, start=1):
        if code not in indicators:
            indicators[code] = connection.execute(insert(INDICATORS).values(
                code=code, group=group, label=label, unit=unit, method=method, basis=basis,
                decimals=decimals, lower_is_better=False, position=position,
            ).returning(INDICATORS.c.id)).scalar_one()
            added += 1
    existing = set(connection.execute(select(TARGETS.c.period_id, TARGETS.c.indicator_id)))
    for period_code, period_id in periods.items():
        if period_code not in catalogue.PERIODS:
            continue
        for code, indicator_id in indicators.items():
            if (period_id, indicator_id) in existing:
                continue
            target, note, baseline = catalogue.TARGETS.get((period_code, code), (None, None, None))
            connection.execute(insert(TARGETS).values(
                period_id=period_id, indicator_id=indicator_id, target=target,
                target_note=note, baseline=baseline, version=1))
            added += 1
    return added
