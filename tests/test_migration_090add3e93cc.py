"""The data step of 090add3e93cc: quarterly-report rows become partial, names are folded."""

from __future__ import annotations

from datetime import date

from sqlalchemy import select

from tests.migration_support import fill, upgrade_with_rows


def _rows(t):
    yield fill(t["enterprises"], id=1, uscc="A" * 18, name="ＡＢＣ１号（天津）", zone="hitech")
    yield fill(t["enterprises"], id=2, uscc="B" * 18, name="普通公司", zone="hitech")
    yield fill(t["carriers"], id=1, name="载体")
    yield fill(t["tenancies"], id=1, enterprise_id=1, carrier_id=1,
               moved_in_on=date(2024, 1, 1))
    yield fill(t["reporting_cycles"], id=1, name="Q3", period_start=date(2026, 7, 1),
               period_end=date(2026, 9, 30), fiscal_year=2026, due_on=date(2026, 10, 20))
    yield fill(t["tenant_reports"], cycle_id=1, tenancy_id=1)
    yield fill(t["annual_metrics"], enterprise_id=1, fiscal_year=2026,
               source="tenant_report", version=1)
    yield fill(t["annual_metrics"], enterprise_id=1, fiscal_year=2025, source="manual",
               version=1)


def _read(conn, t):
    months = dict(conn.execute(select(t["annual_metrics"].c.fiscal_year,
                                      t["annual_metrics"].c.period_months)).all())
    names = dict(conn.execute(select(t["enterprises"].c.id, t["enterprises"].c.name)).all())
    return months, names


def test_upgrade_marks_quarterly_rows_partial_and_folds_names(tmp_path):
    months, names = upgrade_with_rows(tmp_path, "1a050880dbbc", _rows, _read)
    assert months == {2026: 9, 2025: 12}
    assert names == {1: "ABC1号（天津）", 2: "普通公司"}
