"""Tenant quarterly reports are year-to-date figures: kept as partial, never a full year."""

from __future__ import annotations

from datetime import date
from decimal import Decimal

from sqlalchemy import select

from tests.conftest import login
from tracker.clock import frozen
from tracker.enterprises.models import AnnualMetrics
from tracker.enterprises.services import save_metrics
from tracker.extensions import db
from tracker.incubation import services
from tracker.ladder.facts import build_facts


def _q3(bureau):
    return services.create_cycle({"name": "2026年第三季度", "period_start": date(2026, 7, 1),
                                  "period_end": date(2026, 9, 30),
                                  "due_on": date(2026, 10, 20)}, user=bureau)


def _row(firm, year):
    return db.session.scalar(select(AnnualMetrics).where(
        AnnualMetrics.enterprise_id == firm.id, AnnualMetrics.fiscal_year == year))


def test_quarterly_report_is_stored_as_a_partial_year(chain):
    with frozen(date(2026, 10, 10)):
        services.submit_report(_q3(chain["bureau"]), chain["ten_a"],
                               {"revenue": Decimal(1_500_000), "employees": 18},
                               user=chain["manager_a"])
    row = _row(chain["firm_a"], 2026)
    assert (row.period_months, row.is_partial) == (9, True)


def test_partial_year_never_feeds_the_rules_engine(chain):
    firm = chain["firm_a"]
    with frozen(date(2026, 10, 10)):
        services.submit_report(_q3(chain["bureau"]), chain["ten_a"],
                               {"revenue": Decimal(1_500_000), "employees": 18},
                               user=chain["manager_a"])
    save_metrics(firm, 2025, {"revenue": Decimal(9_000_000), "employees": 15})
    db.session.expire(firm)
    facts = build_facts(firm, date(2027, 3, 1))  # 2026 is over, but only 9 months are known
    assert set(facts["years"]) == {"2025"}
    graduation = services.graduation_facts(firm, date(2027, 3, 1))
    assert 2026 not in graduation.revenue_by_year


def test_full_year_figures_replace_a_partial_year_and_are_not_overwritten_by_one(chain):
    firm = chain["firm_a"]
    with frozen(date(2026, 10, 10)):
        cycle = _q3(chain["bureau"])
        services.submit_report(cycle, chain["ten_a"], {"employees": 18},
                               user=chain["manager_a"])
    with frozen(date(2027, 3, 1)):
        save_metrics(firm, 2026, {"employees": 20, "revenue": Decimal(2_000_000)})
    row = _row(firm, 2026)
    assert (row.period_months, row.employees) == (12, 20)
    with frozen(date(2027, 3, 2)):  # a late quarterly report must not undo the full year
        services.submit_report(cycle, chain["ten_a"], {"employees": 19},
                               user=chain["manager_a"])
    row = _row(firm, 2026)
    assert (row.period_months, row.employees) == (12, 20)


def test_firm_page_labels_the_partial_year(client, chain):
    with frozen(date(2026, 10, 10)):
        services.submit_report(_q3(chain["bureau"]), chain["ten_a"], {"employees": 18},
                               user=chain["manager_a"])
    db.session.commit()
    login(client, chain["bureau"])
    html = client.get(f"/enterprises/{chain['firm_a'].id}").get_data(as_text=True)
    metrics = html[html.index('id="metrics"'):]
    assert "1–9月" in metrics and "非全年" in metrics


def test_export_latest_figures_are_the_latest_full_year(chain):
    from tracker.enterprises.queries import EnterpriseFilters
    from tracker.imports.exports import ENTERPRISE_COLUMNS, enterprise_rows

    firm = chain["firm_a"]
    save_metrics(firm, 2025, {"employees": 15})
    with frozen(date(2026, 10, 10)):
        services.submit_report(_q3(chain["bureau"]), chain["ten_a"], {"employees": 18},
                               user=chain["manager_a"])
    year_at = [c.header for c in ENTERPRISE_COLUMNS].index("数据年度")
    rows = {r[1]: r for r in enterprise_rows(chain["bureau"], EnterpriseFilters())}
    assert rows[firm.uscc][year_at:year_at + 2] == [2025, 15]


def test_editing_a_partial_year_says_it_becomes_a_full_year(client, chain):
    with frozen(date(2026, 10, 10)):
        services.submit_report(_q3(chain["bureau"]), chain["ten_a"], {"employees": 18},
                               user=chain["manager_a"])
    db.session.commit()
    login(client, chain["bureau"])
    html = client.get(f"/enterprises/{chain['firm_a'].id}/metrics/2026").get_data(as_text=True)
    assert 'id="partial-note"' in html and "1–9 月" in html
