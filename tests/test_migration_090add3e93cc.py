"""The data step of 090add3e93cc: quarterly-report rows become partial, names are folded."""

from __future__ import annotations

from datetime import date, datetime

from flask_migrate import upgrade
from sqlalchemy import JSON, MetaData, create_engine, insert, select

from config import TestConfig
from tracker import ROOT, create_app
from tracker.extensions import db


def _fill(table, **values):
    """A row for `table` with every required column given some value."""
    row = dict(values)
    for column in table.columns:
        if column.name in row or column.nullable or column.primary_key \
                or column.server_default is not None:
            continue
        if isinstance(column.type, JSON):
            row[column.name] = []
            continue
        kind = column.type.python_type
        row[column.name] = {int: 1, str: "x", bool: False, date: date(2026, 1, 1)}.get(
            kind, datetime(2026, 1, 1))
    return insert(table).values(**row)


def test_upgrade_marks_quarterly_rows_partial_and_folds_names(tmp_path):
    url = f"sqlite:///{tmp_path / 'data.db'}"

    class Cfg(TestConfig):
        SQLALCHEMY_DATABASE_URI = url

    app = create_app(Cfg)
    with app.app_context():
        upgrade(directory=str(ROOT / "migrations"), revision="1a050880dbbc")
        engine = create_engine(url)
        meta = MetaData()
        meta.reflect(engine)
        t = meta.tables
        with engine.begin() as conn:
            conn.execute(_fill(t["enterprises"], id=1, uscc="A" * 18, name="ＡＢＣ１号（天津）",
                               zone="hitech"))
            conn.execute(_fill(t["enterprises"], id=2, uscc="B" * 18, name="普通公司",
                               zone="hitech"))
            conn.execute(_fill(t["carriers"], id=1, name="载体"))
            conn.execute(_fill(t["tenancies"], id=1, enterprise_id=1, carrier_id=1,
                               moved_in_on=date(2024, 1, 1)))
            conn.execute(_fill(t["reporting_cycles"], id=1, name="Q3",
                               period_start=date(2026, 7, 1), period_end=date(2026, 9, 30),
                               fiscal_year=2026, due_on=date(2026, 10, 20)))
            conn.execute(_fill(t["tenant_reports"], cycle_id=1, tenancy_id=1))
            conn.execute(_fill(t["annual_metrics"], enterprise_id=1, fiscal_year=2026,
                               source="tenant_report", version=1))
            conn.execute(_fill(t["annual_metrics"], enterprise_id=1, fiscal_year=2025,
                               source="manual", version=1))
        upgrade(directory=str(ROOT / "migrations"))
        meta = MetaData()
        meta.reflect(engine)
        t = meta.tables
        with engine.connect() as conn:
            months = dict(conn.execute(select(t["annual_metrics"].c.fiscal_year,
                                              t["annual_metrics"].c.period_months)).all())
            names = dict(conn.execute(select(t["enterprises"].c.id,
                                             t["enterprises"].c.name)).all())
        engine.dispose()
        db.engine.dispose()
    assert months == {2026: 9, 2025: 12}
    assert names == {1: "ABC1号（天津）", 2: "普通公司"}
