"""Fixtures of the indicator tests."""

from __future__ import annotations

import pytest
from sqlalchemy import select

from tracker.extensions import db
from tracker.indicators.models import PlanIndicator, PlanPeriod, PlanTarget
from tracker.indicators.seed import seed_plan


class Plan:
    """The seeded periods and indicators by code."""

    def __init__(self) -> None:
        self.periods = {p.code: p for p in db.session.scalars(select(PlanPeriod))}
        self.indicators = {i.code: i for i in db.session.scalars(select(PlanIndicator))}

    def target(self, period: str, indicator: str) -> PlanTarget:
        return db.session.scalar(select(PlanTarget).where(
            PlanTarget.period_id == self.periods[period].id,
            PlanTarget.indicator_id == self.indicators[indicator].id))


@pytest.fixture
def plan():
    """The catalogue's periods, indicators and targets, seeded inside the test's transaction."""
    seed_plan(db.session.connection())
    return Plan()
