"""Demo additions: the plan periods and a few yearly figures marked as demo data."""

from __future__ import annotations

from decimal import Decimal

from sqlalchemy import select

from tracker.extensions import db
from tracker.indicators import services
from tracker.indicators.models import PlanIndicator, PlanPeriod
from tracker.indicators.seed import seed_plan

DEMO_SOURCE = "演示数据（非官方统计）"

#: (indicator, year, figure): invented, only so the closed period shows entered figures
DEMO_VALUES = [
    ("rd_intensity", 2024, Decimal("3.42")), ("rd_intensity", 2025, Decimal("3.51")),
    ("tech_contracts", 2025, Decimal("468.5")), ("new_rd_institutions", 2025, Decimal(13)),
    ("university_parks", 2025, Decimal(2)),
]


def load_indicators_demo() -> dict[str, int]:
    """Seed the periods and indicators, then record the demo figures through the service."""
    added = seed_plan(db.session.connection())
    period = db.session.scalar(select(PlanPeriod).where(PlanPeriod.code == "14th"))
    indicators = {i.code: i for i in db.session.scalars(select(PlanIndicator))}
    for code, year, value in DEMO_VALUES:
        services.save_value(indicators[code], period, year, str(value), DEMO_SOURCE)
    return {"seeded": added, "values": len(DEMO_VALUES)}
