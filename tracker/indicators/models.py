"""Plan periods, the plan's indicators, each period's targets and the figures staff enter."""

from __future__ import annotations

from datetime import date, datetime
from decimal import Decimal

from sqlalchemy import ForeignKey, Numeric, String, UniqueConstraint
from sqlalchemy.orm import Mapped, mapped_column, relationship

from tracker.clock import now_utc
from tracker.extensions import db
from tracker.models_base import UTCDateTime

#: figures up to 10^14 with four decimals (亿元 amounts, percentages, counts)
Figure = Numeric(18, 4)


class PlanPeriod(db.Model):
    """A five-year plan: its years, whether it is closed and the document it rests on."""

    __tablename__ = "plan_periods"

    id: Mapped[int] = mapped_column(primary_key=True)
    #: stable key, e.g. "14th"
    code: Mapped[str] = mapped_column(String(20), unique=True)
    #: e.g. 十四五
    name: Mapped[str] = mapped_column(String(40))
    start_year: Mapped[int] = mapped_column()
    end_year: Mapped[int] = mapped_column()
    #: a closed period shows its final figures; its targets no longer change
    closed: Mapped[bool] = mapped_column(default=False)
    #: the plan document; the period's targets are unconfirmed until title and date are known
    source_title: Mapped[str | None] = mapped_column(String(200))
    source_number: Mapped[str | None] = mapped_column(String(100))
    source_date: Mapped[date | None] = mapped_column()
    updated_at: Mapped[datetime | None] = mapped_column(UTCDateTime, onupdate=now_utc)
    version: Mapped[int] = mapped_column(default=1, server_default="1")

    __mapper_args__ = {"version_id_col": version}

    @property
    def baseline_year(self) -> int:
        """The baseline is the figure of the year before the period starts."""
        return self.start_year - 1

    @property
    def confirmed(self) -> bool:
        return bool(self.source_title and self.source_date)


class PlanIndicator(db.Model):
    """One indicator of the plan: its group, unit and how its actual figure is obtained."""

    __tablename__ = "plan_indicators"

    id: Mapped[int] = mapped_column(primary_key=True)
    code: Mapped[str] = mapped_column(String(40), unique=True)
    #: a key of catalogue.GROUPS
    group: Mapped[str] = mapped_column(String(20))
    label: Mapped[str] = mapped_column(String(100))
    unit: Mapped[str] = mapped_column(String(20))
    #: computed (from the records) or entered (by bureau staff, per year)
    method: Mapped[str] = mapped_column(String(10))
    #: what the number counts: stock on a date or flow over a year, whose, district-wide or not
    basis: Mapped[str] = mapped_column(String(300))
    #: decimals a figure may have (0: a count)
    decimals: Mapped[int] = mapped_column(default=0)
    lower_is_better: Mapped[bool] = mapped_column(default=False)
    position: Mapped[int] = mapped_column(default=0)


class PlanTarget(db.Model):
    """An indicator's target and baseline in one period (numbers may be unknown: None)."""

    __tablename__ = "plan_targets"
    __table_args__ = (UniqueConstraint("period_id", "indicator_id"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    period_id: Mapped[int] = mapped_column(ForeignKey("plan_periods.id"))
    indicator_id: Mapped[int] = mapped_column(ForeignKey("plan_indicators.id"))
    target: Mapped[Decimal | None] = mapped_column(Figure)
    #: the plan's own words where the target is not a plain number ("不低于全市平均水平")
    target_note: Mapped[str | None] = mapped_column(String(100))
    baseline: Mapped[Decimal | None] = mapped_column(Figure)
    updated_at: Mapped[datetime | None] = mapped_column(UTCDateTime, onupdate=now_utc)
    version: Mapped[int] = mapped_column(default=1, server_default="1")

    __mapper_args__ = {"version_id_col": version}

    period = relationship(PlanPeriod)
    indicator = relationship(PlanIndicator)


class IndicatorValue(db.Model):
    """A yearly figure of an entered indicator, with its source and who entered it."""

    __tablename__ = "indicator_values"
    __table_args__ = (UniqueConstraint("indicator_id", "year"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    indicator_id: Mapped[int] = mapped_column(ForeignKey("plan_indicators.id"))
    year: Mapped[int] = mapped_column()
    value: Mapped[Decimal] = mapped_column(Figure)
    #: the statistics bulletin, yearbook or report the figure comes from
    source: Mapped[str] = mapped_column(String(200))
    entered_by_id: Mapped[int | None] = mapped_column(ForeignKey("users.id"))
    entered_at: Mapped[datetime] = mapped_column(UTCDateTime, default=now_utc, onupdate=now_utc)
    version: Mapped[int] = mapped_column(default=1, server_default="1")

    __mapper_args__ = {"version_id_col": version}

    indicator = relationship(PlanIndicator)
    entered_by = relationship("User")
