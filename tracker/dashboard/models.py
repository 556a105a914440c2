"""Month-end counts the trend charts read: one row per month, measure, key, zone and carrier."""

from __future__ import annotations

from datetime import date, datetime

from sqlalchemy import ForeignKey, Index, String, UniqueConstraint
from sqlalchemy.orm import Mapped, mapped_column

from tracker.clock import now_utc
from tracker.extensions import db
from tracker.models_base import UTCDateTime

#: what a MonthlyCount row counts
MEASURES = {
    "rung": "按梯度（月末所处梯度的企业数）",
    "carrier_kind": "按载体类型（月末在孵企业数）",
}


class MonthlyCount(db.Model):
    """Firms at a rung, or tenants at a kind of carrier, on a month's last day.

    Rows are split by the firm's zone (and, for tenants, by carrier) so that every role's
    figure is a SUM over the rows of its scope (tracker.accounts.scope.monthly_count_scope).
    Written by the beat job for each finished month and back-filled from the stage
    transitions' and tenancies' dates for the months before; rewriting a month replaces it.
    """

    __tablename__ = "monthly_counts"
    __table_args__ = (
        UniqueConstraint("month", "measure", "key", "zone", "carrier_id",
                         name="uq_monthly_counts_cell"),
        Index("ix_monthly_counts_measure_month", "measure", "month"),
    )

    id: Mapped[int] = mapped_column(primary_key=True)
    #: the month's last day (the count is as of that day)
    month: Mapped[date] = mapped_column()
    #: rung or carrier_kind (MEASURES)
    measure: Mapped[str] = mapped_column(String(20))
    #: the rung code or the carrier kind
    key: Mapped[str] = mapped_column(String(30))
    #: the firm's zone on that day (ZoneMove: a later move leaves the row where it was)
    zone: Mapped[str] = mapped_column(String(20))
    #: carrier_kind rows: the carrier; 0 for rung rows (0, not NULL, so the cell is unique)
    carrier_id: Mapped[int] = mapped_column(default=0)
    count: Mapped[int] = mapped_column()
    computed_at: Mapped[datetime] = mapped_column(UTCDateTime, default=now_utc)


class DashboardAggregate(db.Model):
    """One maintained dashboard figure of one zone: firms per rung and field, holders and
    candidates per kind, funnel cohorts, the histogram of finished stays per rung, titles
    expiring per month, firms per application status and reminders per ledger status.

    Summable across zones (a firm is in one zone), so a zone officer's figure is their zone's
    rows and the bureau's the sum of all. Kept by tracker.dashboard.aggregates as the sum of
    the firms' marks (DashboardFirmMark): adjusted for the firms a commit touched, rebuilt
    each night and by `flask dashboard refresh-aggregates`.
    """

    __tablename__ = "dashboard_aggregates"

    #: firms, holders, candidates, funnel, stays … (aggregates.MEASURES)
    measure: Mapped[str] = mapped_column(String(16), primary_key=True)
    #: the firms' zone ('' for firms without one)
    zone: Mapped[str] = mapped_column(String(20), primary_key=True)
    #: rung, kind, metric or cohort year ('' for none)
    key: Mapped[str] = mapped_column(String(30), primary_key=True)
    #: the second dimension: technology field, funnel column, days of a stay ('' for none)
    sub: Mapped[str] = mapped_column(String(30), primary_key=True, default="")
    value: Mapped[int] = mapped_column()


class DashboardFirmMark(db.Model):
    """One active firm's own share of a dashboard figure (its rung and field; a metric it
    holds; a kind it is a candidate for; its funnel cohort columns; its finished stays).

    The figures are the sum of these, so a save recounts only the firms it touched and adds
    the difference with their stored marks (tracker.dashboard.aggregates.recount_for); the
    zone kept here is the one the firm was counted in, so a move takes it off the old zone.
    """

    __tablename__ = "dashboard_firm_marks"

    enterprise_id: Mapped[int] = mapped_column(primary_key=True, autoincrement=False)
    measure: Mapped[str] = mapped_column(String(16), primary_key=True)
    key: Mapped[str] = mapped_column(String(30), primary_key=True)
    sub: Mapped[str] = mapped_column(String(30), primary_key=True, default="")
    zone: Mapped[str] = mapped_column(String(20))
    value: Mapped[int] = mapped_column()


class AggregateState(db.Model):
    """The one row saying what the maintained figures are current for.

    They are used only while `counted_on` is today (titles are valid by date) and
    `counts_version` is the current counts version (no counted change went unrecounted).
    """

    __tablename__ = "dashboard_aggregate_state"

    id: Mapped[int] = mapped_column(primary_key=True)
    counted_on: Mapped[date] = mapped_column()
    counts_version: Mapped[int] = mapped_column()
    #: last full recount; last recount of any part (the figures' age)
    refreshed_at: Mapped[datetime] = mapped_column(UTCDateTime)
    updated_at: Mapped[datetime] = mapped_column(UTCDateTime)


class MonthRedo(db.Model):
    """A zone whose stored month-ends from `from_month` on no longer match the history.

    A change with a past effective date (a backdated title or revocation, a tenancy closed or
    opened in a past month) leaves the month-end rows after that date wrong. The after-save
    pipeline marks the firm's zone here and rewrites those months in the same commit; a bulk
    commit leaves the mark for a worker (or the next beat run), and the trend chart shows the
    months as pending meanwhile. The row is also the zone's lock: marking it first serialises
    two commits rewriting the same zone's months.
    """

    __tablename__ = "monthly_count_redo"

    zone: Mapped[str] = mapped_column(String(20), primary_key=True)
    #: the first month-end (a month's last day) to rewrite
    from_month: Mapped[date] = mapped_column()
    marked_at: Mapped[datetime] = mapped_column(UTCDateTime, default=now_utc)


class ZoneMove(db.Model):
    """A firm's move from one zone to another, effective `moved_on` (the day it was saved).

    Month-ends are snapshots: a month before the move counts the firm in `from_zone`, also
    when the month is rewritten later (tracker.dashboard.history replays the zone with the
    rung). Recorded by a before-flush hook on the firm's zone (tracker.dashboard.redo).
    """

    __tablename__ = "zone_moves"
    __table_args__ = (Index("ix_zone_moves_enterprise_day", "enterprise_id", "moved_on"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    enterprise_id: Mapped[int] = mapped_column(ForeignKey("enterprises.id", ondelete="CASCADE"))
    moved_on: Mapped[date] = mapped_column()
    from_zone: Mapped[str] = mapped_column(String(20))
    to_zone: Mapped[str] = mapped_column(String(20))
