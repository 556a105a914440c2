"""Ladder fixtures: a frozen working day, an upload folder and firms with real figures."""

from __future__ import annotations

from datetime import date

import pytest

from tests.factories import make_enterprise
from tracker.clock import frozen
from tracker.enterprises import services as enterprises

DAY = date(2026, 6, 30)  # fiscal 2025 is the latest year; HNTE R&D window 2023-2025


def healthy_year(**changes):
    """A fiscal year that meets tech-SME, 雏鹰 and HNTE bars (6% R&D, 30% S&T staff)."""
    row = {"employees": 100, "tech_staff": 30, "revenue": 40_000_000,
           "total_income": 41_000_000, "total_assets": 80_000_000, "total_cost": 35_000_000,
           "rd_expense": 2_400_000, "rd_expense_domestic": 2_400_000,
           "high_tech_income": 30_000_000, "class1_ip": 1, "class2_ip": 3}
    row.update(changes)
    return row


def make_firm(years=(2023, 2024, 2025), year_changes=None, **kwargs):
    """An enterprise with healthy figures (overridable per year) saved through the services."""
    kwargs.setdefault("founded_on", date(2018, 5, 1))
    firm = make_enterprise(**kwargs)
    for year in years:
        enterprises.save_metrics(firm, year, healthy_year(**(year_changes or {}).get(year, {})))
    return firm


@pytest.fixture
def day():
    """Freeze the clock on 30 June 2026 for the whole test."""
    with frozen(DAY):
        yield DAY


@pytest.fixture
def upload_dir(app, tmp_path, monkeypatch):
    """Evidence files go to a throwaway folder."""
    monkeypatch.setitem(app.config, "UPLOAD_DIR", str(tmp_path / "uploads"))
    return tmp_path / "uploads"


@pytest.fixture
def evaluated(monkeypatch):
    """The facts each evaluate() call of the recompute got (the engine itself runs unchanged)."""
    from tracker.ladder import results

    calls: list[dict] = []
    original = results.evaluate

    def counting(facts, **kwargs):
        calls.append(facts)
        return original(facts, **kwargs)

    monkeypatch.setattr(results, "evaluate", counting)
    return calls


def tech_sme_firms(n: int = 3) -> list[int]:
    """Ids of `n` new firms whose figures meet the tech-SME bars, saved on DAY."""
    from tests.reminders.test_eligibility import give_tech_sme_figures
    from tracker.extensions import db

    with frozen(DAY):
        firms = [make_enterprise() for _ in range(n)]
        for firm in firms:
            give_tech_sme_figures(firm)
        db.session.flush()
    return [f.id for f in firms]
