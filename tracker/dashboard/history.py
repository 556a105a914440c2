"""Month-end counts: what the register looked like on each month's last day, from its history.

A firm's rung on a day is the target of its last ladder transition effective on or before that
day (the transitions are the rung's own timeline, rebuilt from the titles by
ladder.services.rebuild_ladder_history); a firm is a tenant of a carrier on a day when its
tenancy had begun and not yet ended. The same two queries serve the beat job (each finished
month), the back-fill (months before the feature existed), the live "today" point of the trend
chart and the enterprise list's `on=` filter, so a chart point and its list agree.
"""

from __future__ import annotations

import calendar
from collections.abc import Collection
from contextvars import ContextVar
from datetime import date, timedelta
from typing import Any

from sqlalchemy import (
    Date,
    Integer,
    Select,
    String,
    and_,
    delete,
    func,
    insert,
    literal,
    select,
    true,
    union_all,
)

from tracker.clock import now_utc, today
from tracker.dashboard.models import MonthlyCount, ZoneMove
from tracker.enterprises.models import Enterprise
from tracker.extensions import db
from tracker.incubation.models import Carrier, Tenancy
from tracker.ladder.models import StageTransition
from tracker.models_base import UTCDateTime

COLUMNS = ["month", "measure", "key", "zone", "carrier_id", "count", "computed_at"]


def month_end(day: date) -> date:
    """The last day of `day`'s month."""
    return day.replace(day=calendar.monthrange(day.year, day.month)[1])


def previous_month_end(day: date) -> date:
    return day.replace(day=1) - timedelta(days=1)


def month_ends(first: date, last: date) -> list[date]:
    """Every month's last day from `first`'s month to `last`'s month, both included."""
    out, cursor = [], month_end(first)
    while cursor <= month_end(last):
        out.append(cursor)
        cursor = month_end(cursor + timedelta(days=1))
    return out


def rung_on(day: date, zones: Collection[str] | None = None) -> Select:
    """(enterprise_id, rung) of every firm's rung on `day` (firms with no transition yet: none).

    `zones`: only the firms of these zones (a zone's months rewritten after a backdated change).
    """
    ranked = (
        select(StageTransition.enterprise_id.label("enterprise_id"),
               StageTransition.to_stage.label("rung"),
               func.row_number().over(
                   partition_by=StageTransition.enterprise_id,
                   order_by=(StageTransition.effective_on.desc(), StageTransition.id.desc()),
               ).label("rn"))
        .where(StageTransition.chain == "ladder", StageTransition.effective_on <= day)
    )
    if zones is not None:  # the firms in these zones now, or before a move
        ranked = ranked.where(StageTransition.enterprise_id.in_(
            select(Enterprise.id).where(Enterprise.zone.in_(sorted(zones))).union(
                select(ZoneMove.enterprise_id).where(ZoneMove.from_zone.in_(sorted(zones))))))
    ranked = ranked.subquery()
    return select(ranked.c.enterprise_id, ranked.c.rung).where(ranked.c.rn == 1)


def resident_on(day: date) -> Any:
    """A tenancy that had begun by `day` and had not ended on it."""
    from tracker.incubation.services import resident_on as resident

    return resident(day)


def _in_zones(zone: Any, zones: Collection[str] | None) -> Any:
    return true() if zones is None else zone.in_(sorted(zones))


def zone_then(day: date) -> tuple[Any, Any]:
    """(the firms' first move after `day`, a firm's zone on `day`): join the first with an
    outer join on its enterprise_id; the zone is the one it left then, or its zone now."""
    later = (select(ZoneMove.enterprise_id.label("enterprise_id"),
                    ZoneMove.from_zone.label("from_zone"),
                    func.row_number().over(partition_by=ZoneMove.enterprise_id,
                                           order_by=(ZoneMove.moved_on, ZoneMove.id))
                    .label("rn"))
             .where(ZoneMove.moved_on > day).subquery("later_moves"))
    first = (select(later.c.enterprise_id, later.c.from_zone).where(later.c.rn == 1)
             .subquery("zone_then"))
    return first, func.coalesce(first.c.from_zone, Enterprise.zone)


def _rung_cells(day: date, zones: Collection[str] | None = None) -> Select:
    held = rung_on(day, zones).subquery()
    moved, zone = zone_then(day)
    return (
        select(literal("rung", String).label("measure"), held.c.rung.label("key"),
               zone.label("zone"), literal(0, Integer).label("carrier_id"),
               func.count().label("count"))
        .join(Enterprise, Enterprise.id == held.c.enterprise_id)
        .outerjoin(moved, moved.c.enterprise_id == Enterprise.id)
        .where(held.c.rung.is_not(None), Enterprise.status == "active",
               _in_zones(zone, zones))
        .group_by(held.c.rung, zone)
    )


def tenant_cells(day: date, zones: Collection[str] | None = None) -> Select:
    """(measure, key, zone, carrier_id, count) of the tenants resident on `day`."""
    moved, zone = zone_then(day)
    return (
        select(literal("carrier_kind", String).label("measure"), Carrier.kind.label("key"),
               zone.label("zone"), Carrier.id.label("carrier_id"),
               func.count(func.distinct(Tenancy.enterprise_id)).label("count"))
        .join(Carrier, Carrier.id == Tenancy.carrier_id)
        .join(Enterprise, Enterprise.id == Tenancy.enterprise_id)
        .outerjoin(moved, moved.c.enterprise_id == Enterprise.id)
        .where(resident_on(day), Enterprise.status == "active", _in_zones(zone, zones))
        .group_by(Carrier.kind, zone, Carrier.id)
    )


def _current_rung_cells() -> Select:
    """Today's rung cells from the stored rung (indexed), which the rebuild of the ladder
    history keeps equal to the last transition's target."""
    return (
        select(literal("rung", String).label("measure"), Enterprise.current_rung.label("key"),
               Enterprise.zone.label("zone"), literal(0, Integer).label("carrier_id"),
               func.count().label("count"))
        .where(Enterprise.current_rung.is_not(None), Enterprise.status == "active")
        .group_by(Enterprise.current_rung, Enterprise.zone)
    )


def cells_on(day: date, *, live: bool = False, zones: Collection[str] | None = None) -> Any:
    """(measure, key, zone, carrier_id, count) as of `day`: the shape of MonthlyCount rows.

    `live`: `day` is today, and the rung cells are read off the stored rungs instead of
    replaying every firm's history. `zones`: the cells of these zones only.
    """
    rungs = _current_rung_cells() if live else _rung_cells(day, zones)
    return union_all(rungs, tenant_cells(day, zones)).subquery("cells")


def write_month(month: date, zones: Collection[str] | None = None) -> int:
    """Replace the stored counts of `month` (its last day) with the ones its history gives.

    Safe to run twice: the month's rows are deleted and inserted again in one transaction
    (the unique cell constraint refuses a second copy). `zones`: rewrite only these zones'
    rows (every row is one zone's, so the others stay right). Flushes; returns rows written.
    """
    month = month_end(month)
    rows = delete(MonthlyCount).where(MonthlyCount.month == month)
    if zones is not None:
        rows = rows.where(MonthlyCount.zone.in_(sorted(zones)))
    db.session.execute(rows)
    cells = cells_on(month, zones=zones)
    stamp = now_utc()
    result = db.session.execute(insert(MonthlyCount).from_select(COLUMNS, select(
        literal(month, Date), cells.c.measure, cells.c.key, cells.c.zone, cells.c.carrier_id,
        cells.c.count, literal(stamp, UTCDateTime))))
    db.session.flush()
    return max(result.rowcount or 0, 0)


def first_history_day() -> date | None:
    """The earliest day the records say anything about a rung or a tenancy."""
    days = [d for d in (
        db.session.scalar(select(func.min(StageTransition.effective_on))
                          .where(StageTransition.chain == "ladder")),
        db.session.scalar(select(func.min(Tenancy.moved_in_on))),
    ) if d is not None]
    return min(days) if days else None


def stored_months() -> set[date]:
    return set(db.session.scalars(select(MonthlyCount.month).distinct()))


def backfill(until: date | None = None, *, rebuild: bool = False) -> list[date]:
    """Write every finished month up to `until` (default: last month) that has no rows yet.

    `rebuild` rewrites the stored months too (after a correction of old titles). Flushes;
    returns the months written, oldest first.
    """
    from tracker import snapshots

    last = month_end(until) if until else previous_month_end(today())
    first = first_history_day()
    if first is None or first > last:
        return []
    # a save reaching back into a month being written waits for this commit and then finds
    # the month stored (and rewrites it, dashboard.redo.mark); one committed before this
    # lock is in the rows written below
    snapshots.lock()
    have = set() if rebuild else stored_months()
    written = []
    for month in month_ends(first, last):
        if month not in have:
            write_month(month)
            written.append(month)
    return written


# The funnel and the stays read the same ladder history: titles' grant dates and transitions.

#: the funnel's horizons, in years after the tech-SME registration
FUNNEL_YEARS = (1, 2, 3)


#: the dialect the date arithmetic is written for, when not the session's (a migration's
#: back-fill runs the same queries on its own connection)
DIALECT: ContextVar[str | None] = ContextVar("history_dialect", default=None)


def dialect() -> str:
    """The dialect the date arithmetic is written for (DIALECT, else the session's)."""
    return DIALECT.get() or db.session.get_bind().dialect.name


def add_years(day: Any, years: int) -> Any:
    """`day` + `years` calendar years, in the dialect's own date arithmetic."""
    if dialect() == "sqlite":
        return func.date(day, f"+{int(years)} years")
    return func.cast(day + func.make_interval(int(years)), Date)


def days_between(later: Any, earlier: Any) -> Any:
    if dialect() == "sqlite":
        return func.cast(func.julianday(later) - func.julianday(earlier), Integer)
    return later - earlier


def registrations(scope: Any, year: int | None = None) -> Any:
    """(enterprise_id, year, registered_on, hnte_on) per firm and year of a tech-SME
    registration: its first registration day that year and its first HNTE grant on or after it.

    `scope` is a WHERE clause on Enterprise (the user's scope); archived firms are left out, as
    on the enterprise list.
    """
    from tracker.ladder.models import Qualification

    reg_year = func.extract("year", Qualification.granted_on)
    reg = (select(Qualification.enterprise_id.label("enterprise_id"),
                  func.cast(reg_year, Integer).label("year"),
                  func.min(Qualification.granted_on).label("registered_on"))
           .join(Enterprise, Enterprise.id == Qualification.enterprise_id)
           .where(Qualification.kind == "tech_sme", scope, Enterprise.status == "active")
           .group_by(Qualification.enterprise_id, reg_year))
    if year is not None:
        reg = reg.where(Qualification.granted_on.between(date(year, 1, 1), date(year, 12, 31)))
    reg = reg.subquery("reg")
    hnte = Qualification.__table__.alias("hnte")
    return (select(reg.c.enterprise_id, reg.c.year, reg.c.registered_on,
                   func.min(hnte.c.granted_on).label("hnte_on"))
            .select_from(reg)
            .outerjoin(hnte, and_(hnte.c.enterprise_id == reg.c.enterprise_id,
                                  hnte.c.kind == "hnte",
                                  hnte.c.granted_on >= reg.c.registered_on))
            .group_by(reg.c.enterprise_id, reg.c.year, reg.c.registered_on)
            .subquery("funnel"))


def reached_within(funnel: Any, years: int) -> Any:
    """The firm's first HNTE after registering came within `years` years of it."""
    return and_(funnel.c.hnte_on.is_not(None),
                funnel.c.hnte_on <= add_years(funnel.c.registered_on, years))


def funnel_counts(scope: Any) -> dict[int, dict[str, int]]:
    """year -> {"registered": n, "1": reached within a year, "2": …, "3": …}, one query."""
    from sqlalchemy import case

    funnel = registrations(scope)
    columns = [func.sum(case((reached_within(funnel, k), 1), else_=0)) for k in FUNNEL_YEARS]
    rows = db.session.execute(
        select(funnel.c.year, func.count(), *columns).group_by(funnel.c.year)
        .order_by(funnel.c.year))
    out = {}
    for year, registered, *reached in rows:
        out[int(year)] = {"registered": registered,
                          **{str(k): int(n or 0) for k, n in zip(FUNNEL_YEARS, reached,
                                                                  strict=True)}}
    return out


def median_stays(scope: Any) -> dict[str, tuple[int, int]]:
    """rung -> (median days a finished stay on it lasted, stays counted), from transitions.

    A stay runs from the transition onto the rung to the firm's next ladder transition; stays
    still running are left out (their length is not known yet). Lower median, in SQL.
    """
    lead = func.lead(StageTransition.effective_on).over(
        partition_by=StageTransition.enterprise_id,
        order_by=(StageTransition.effective_on, StageTransition.id))
    moves = (select(StageTransition.to_stage.label("rung"),
                    StageTransition.effective_on.label("started"), lead.label("ended"))
             .join(Enterprise, Enterprise.id == StageTransition.enterprise_id)
             .where(StageTransition.chain == "ladder", scope, Enterprise.status == "active")
             .subquery("moves"))
    stays = (select(moves.c.rung, days_between(moves.c.ended, moves.c.started).label("days"))
             .where(moves.c.rung.is_not(None), moves.c.ended.is_not(None))
             .subquery("stays"))
    ranked = select(
        stays.c.rung, stays.c.days,
        func.row_number().over(partition_by=stays.c.rung, order_by=stays.c.days).label("rn"),
        func.count().over(partition_by=stays.c.rung).label("n"),
    ).subquery("ranked")
    rows = db.session.execute(select(ranked.c.rung, ranked.c.days, ranked.c.n)
                              # // : integer division (/ is true division, and an even
                              # count's (n + 1) / 2 matched no row: the rung vanished)
                              .where(ranked.c.rn == (ranked.c.n + 1) // 2))
    return {rung: (int(days), int(n)) for rung, days, n in rows}
