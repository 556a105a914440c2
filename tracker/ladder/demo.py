"""Ladder demo data: qualifications for about a third of the demo firms and a few applications.

Called by tracker/demo.py after the enterprises exist: ``load_ladder_demo(rng)``. Flushes only.
"""

from __future__ import annotations

import random
from datetime import date, timedelta
from decimal import Decimal

from sqlalchemy import select

from tracker.accounts.models import User
from tracker.clock import today
from tracker.enterprises import services as enterprises
from tracker.enterprises.models import Enterprise
from tracker.extensions import db
from tracker.ladder import services


def _day_in(year: int, rng: random.Random, latest: date) -> date:
    start = date(year, 1, 15)
    end = min(date(year, 12, 15), latest)
    return start + timedelta(days=rng.randint(0, max((end - start).days, 0)))


def _realistic_figures(firm: Enterprise, i: int) -> None:
    """Most R&D is spent in China; a few firms sit just under the 60% high-tech income bar."""
    for row in firm.metrics:
        values = {}
        if i % 3 != 2 and row.rd_expense is not None:
            values["rd_expense_domestic"] = (row.rd_expense * Decimal("0.9")).quantize(Decimal(1))
        if i % 5 == 4 and row.total_income is not None:
            values["high_tech_income"] = (row.total_income * Decimal("0.58")).quantize(Decimal(1))
        if values:
            enterprises.save_metrics(firm, row.fiscal_year, values, source="demo")


def _register_tech_sme(firm: Enterprise, year: int, serial: int, rng: random.Random,
                       latest: date) -> None:
    """A tech-SME registration of `year` (its number says the year, which bounds its validity)."""
    granted = _day_in(year, rng, min(latest, date(year, 6, 30)))
    services.grant_qualification(
        firm, "tech_sme", f"{year}120116{rng.choice('00A')}{serial:04d}", granted,
        source="import", evidence=f"{year}年科技型中小企业入库名单（演示）")


def _past_years(firm_year: int, now: date, rng: random.Random, k: int) -> list[int]:
    years = list(range(max(2021, firm_year + 1), now.year))
    return sorted(rng.sample(years, min(k, len(years))))


def load_ladder_demo(rng: random.Random) -> dict[str, int]:
    """Give ~1/3 of the firms tech-SME / 雏鹰 / HNTE titles and open a few applications."""
    now = today()
    firms = list(db.session.scalars(select(Enterprise).order_by(Enterprise.id)))
    owner = db.session.scalar(select(User).where(User.role == "bureau").order_by(User.id))
    counts = {"qualifications": 0, "applications": 0}
    serial = rng.randint(100, 900)
    past_serial = 5000
    for i, firm in enumerate(firms):
        _realistic_figures(firm, i)
        founded_year = firm.founded_on.year if firm.founded_on else 2015
        # Years of history for the dashboard's trends and funnel: past tech-SME registrations,
        # some followed by HNTE one to three years later. A generator of its own per firm, so
        # the rest of the demo draws the same numbers as before.
        past = random.Random(7919 * (i + 1))
        if i % 3 != 0 and i % 5 == 2:
            years = _past_years(founded_year, now, past, past.choice([1, 2]))
            for year in years:
                _register_tech_sme(firm, year, past_serial, past, now)
                past_serial += 1
                counts["qualifications"] += 1
            if years and i % 10 == 7 and years[0] + 2 < now.year:
                hnte_year = years[0] + past.choice([1, 2])
                services.grant_qualification(
                    firm, "hnte", f"GR{hnte_year}12{past.randint(0, 999999):06d}",
                    _day_in(hnte_year, past, now), batch=f"{hnte_year}年第二批",
                    source="import", evidence=f"{hnte_year}年高新技术企业认定名单（演示）")
                counts["qualifications"] += 1
        if i % 3 == 0:
            # Oldest first, as the official lists came out, so the ladder history reads in order.
            if i % 6 == 0 and founded_year <= 2022:
                hnte_year = rng.choice([2023, 2023, 2024, 2025])
                registered = hnte_year - past.choice([1, 1, 2, 3])
                if registered >= max(2021, founded_year + 1):
                    _register_tech_sme(firm, registered, past_serial, past, now)
                    past_serial += 1
                    counts["qualifications"] += 1
            elif i % 6 == 3:
                for year in _past_years(founded_year, now, past, 1):
                    _register_tech_sme(firm, year, past_serial, past, now)
                    past_serial += 1
                    counts["qualifications"] += 1
            if i % 6 == 0 and founded_year <= 2022:
                services.grant_qualification(
                    firm, "hnte", f"GR{hnte_year}12{rng.randint(0, 999999):06d}",
                    _day_in(hnte_year, rng, now), batch=f"{hnte_year}年第一批",
                    source="import", evidence=f"{hnte_year}年高新技术企业认定名单（演示）")
                counts["qualifications"] += 1
            elif i % 9 == 3:
                batch_year = max(founded_year + 1, 2024)
                if batch_year <= now.year:
                    services.grant_qualification(
                        firm, "chuying", None, _day_in(batch_year, rng, now),
                        batch=f"{batch_year}年第{rng.randint(1, 4)}批", source="import",
                        evidence="天津市雏鹰企业入库名单（演示）")
                    counts["qualifications"] += 1
            # Tech-SME registration of this year; the 11th character says when it was filed
            # (国科发火〔2018〕11号): 0 before 31 May, A after, B for firms founded this year.
            marker = "B" if founded_year == now.year else rng.choice("00A")
            granted = _day_in(now.year, rng, now)
            services.grant_qualification(
                firm, "tech_sme", f"{now.year}120116{marker}{serial:04d}", granted,
                source="import", evidence="科技型中小企业入库名单（演示）")
            serial += 1
            counts["qualifications"] += 1
        if i % 7 == 1 and firm.current_rung != "hnte":
            application = services.create_application(firm, {
                "kind": "hnte", "year": now.year, "batch": f"{now.year}年第一批",
                "owner_id": owner.id if owner else None,
                "deadline": now + timedelta(days=rng.randint(10, 90)),
                "notes": "演示数据"})
            for status in ("preparing", "submitted")[: rng.randint(0, 2)]:
                services.move_application(application, status)
            counts["applications"] += 1
    db.session.flush()
    return counts
