"""Keeping the stored month-ends right when a change reaches back into a finished month.

The month-end rows (MonthlyCount) are the history replayed on each month's last day. A change
saved today with a past effective date — a title granted or revoked as of an earlier day, a
tenancy closed or opened in a past month, a ladder history rebuilt with other dates — makes
every stored month from that date on wrong. The after-save pipeline (tracker.changes) asks
`transition_day` / `tenancy_day` of every stage transition and tenancy a flush wrote; its
month-counts stage marks the firms' zones (`mark`) and rewrites their months from there with
the same code the back-fill uses (`rebuild`), in the same commit when they are few
(MONTH_REDO_INLINE_MONTHS). Otherwise, and after a bulk commit, it only marks: a worker, or the
next beat run, rebuilds, and the trend chart says which months are pending until then.
"""

from __future__ import annotations

from collections.abc import Collection, Mapping
from datetime import date
from typing import Any

from flask import current_app
from sqlalchemy import case, delete, func, inspect, select

from tracker import snapshots
from tracker.accounts.scope import monthly_count_scope
from tracker.clock import now_utc, today
from tracker.dashboard import history
from tracker.dashboard.models import MonthlyCount, MonthRedo, ZoneMove
from tracker.enterprises.models import Enterprise
from tracker.extensions import conflict_insert, db

#: a half-open stay [start, end): end None means still running; None for a stay that never ran
Span = tuple[date, date | None] | None


def _values(obj: Any, name: str) -> tuple[Any, Any]:
    """(value before this flush, value now) of an attribute, without loading anything."""
    state = inspect(obj)
    now = state.dict.get(name)
    changed = state.attrs[name].history
    before = changed.deleted[0] if changed.deleted else now
    return before, now


def _changed(obj: Any, name: str) -> bool:
    before, now = _values(obj, name)
    return before != now


def _earliest(*days: date | None) -> date | None:
    known = [d for d in days if d is not None]
    return min(known) if known else None


def transition_day(obj: Any, *, new: bool, deleted: bool) -> date | None:
    """The first day a ladder transition written in this flush changes a rung count."""
    chain_before, chain_now = _values(obj, "chain")
    if "ladder" not in (chain_before, chain_now):
        return None
    on_before, on_now = _values(obj, "effective_on")
    if new or deleted:
        return _earliest(on_before, on_now)
    moved = any(_changed(obj, name)
                for name in ("effective_on", "from_stage", "to_stage", "chain", "enterprise_id"))
    return _earliest(on_before, on_now) if moved else None


def _span(moved_in_on: date | None, ended_on: date | None, status: str | None) -> Span:
    """The days a stay counts as resident (incubation.services.resident_on, as an interval)."""
    if moved_in_on is None:
        return None
    if ended_on is None:
        return (moved_in_on, None) if status == "incubating" else None
    return (moved_in_on, ended_on) if ended_on > moved_in_on else None


def first_difference(old: Span, new: Span) -> date | None:
    """The first day on which a firm is resident under one span and not the other."""
    if old == new:
        return None
    if old is None or new is None:
        return (old or new)[0]
    if old[0] != new[0]:
        return min(old[0], new[0])
    ends = [end for end in (old[1], new[1]) if end is not None]
    return min(ends)


def tenancy_day(obj: Any, *, new: bool, deleted: bool) -> date | None:
    """The first day a tenancy written in this flush changes a month-end tenant count."""
    values = {name: _values(obj, name) for name in ("moved_in_on", "ended_on", "status")}
    before = {name: pair[0] for name, pair in values.items()}
    now = {name: pair[1] for name, pair in values.items()}
    old_span = None if new else _span(**before)
    new_span = None if deleted else _span(**now)
    moved = any(_changed(obj, name) for name in ("carrier_id", "enterprise_id"))
    if moved and not (new or deleted):  # every day of either stay counts somewhere else now
        return _earliest(*(span[0] for span in (old_span, new_span) if span))
    return first_difference(old_span, new_span)


def first_stale_month(day: date, on: date | None = None) -> date | None:
    """The first finished month-end `day` changes (None: only this month, not stored yet)."""
    month = history.month_end(day)
    return month if month <= history.previous_month_end(on or today()) else None


def mark(days: Mapping[int, date]) -> dict[str, date]:
    """Record, per zone, the first stored month the firms' changes (firm id -> first changed
    day) make wrong; returns zone -> first month. Nothing when no stored month is affected.

    An upsert keeping the earlier month: the row lock it takes makes a second commit marking
    the same zone wait for this one, so their rewrites of that zone's months do not collide.
    """
    stale = {firm: month for firm, day in days.items()
             if (month := first_stale_month(day)) is not None}
    if not stale:
        return {}
    # the month-end writer holds this until it commits (history.backfill): wait, so a month
    # it is writing from a snapshot without this change is seen stored, and marked
    snapshots.lock()
    last_stored = db.session.scalar(select(func.max(MonthlyCount.month)))
    if last_stored is None:
        return {}  # nothing stored yet: the back-fill writes every month from the history
    zones: dict[str, date] = {}
    for firm, zone in db.session.execute(
            select(Enterprise.id, Enterprise.zone).where(Enterprise.id.in_(sorted(stale)))):
        if stale[firm] <= last_stored:
            zones[zone] = min(stale[firm], zones.get(zone, stale[firm]))
    # a firm that moved since counts in the zone it was in then (ZoneMove): rewrite that too
    for firm, left, moved_on in db.session.execute(
            select(ZoneMove.enterprise_id, ZoneMove.from_zone, ZoneMove.moved_on)
            .where(ZoneMove.enterprise_id.in_(sorted(stale)))):
        if stale[firm] <= last_stored and moved_on > stale[firm]:
            zones[left] = min(stale[firm], zones.get(left, stale[firm]))
    if not zones:
        return {}
    table = MonthRedo.__table__
    stamp = now_utc()
    upsert = conflict_insert(table).values(
        [{"zone": zone, "from_month": month, "marked_at": stamp}
         for zone, month in sorted(zones.items())])
    db.session.execute(upsert.on_conflict_do_update(
        index_elements=[table.c.zone],
        set_={"from_month": case((upsert.excluded.from_month < table.c.from_month,
                                  upsert.excluded.from_month), else_=table.c.from_month),
              "marked_at": stamp}))
    return zones


def inline_months() -> int:
    """How many stored months a commit rewrites itself (config MONTH_REDO_INLINE_MONTHS)."""
    return int(current_app.config.get("MONTH_REDO_INLINE_MONTHS", 3))


def months_to_rewrite(zones: Mapping[str, date]) -> int:
    """How many stored months a rewrite from the marks' first month covers."""
    first = min(zones.values())
    return db.session.scalar(select(func.count(func.distinct(MonthlyCount.month)))
                             .where(MonthlyCount.month >= first)) or 0


def rebuild(zones: Collection[str] | None = None) -> list[date]:
    """Rewrite the marked zones' stored months from their first marked month on, then clear
    the marks (`zones`: only these; default every mark). Flushes; returns the months written.

    The same replay as the back-fill (history.write_month), restricted to the marked zones:
    the other zones' rows are right and stay as they are.
    """
    query = select(MonthRedo).order_by(MonthRedo.zone).with_for_update()
    if zones is not None:
        if not zones:
            return []
        query = query.where(MonthRedo.zone.in_(sorted(zones)))
    marks = {row.zone: row.from_month for row in db.session.scalars(query)}
    if not marks:
        return []
    first = min(marks.values())
    months = sorted(m for m in history.stored_months() if m >= first)
    for month in months:
        due = [zone for zone, start in marks.items() if start <= month]
        history.write_month(month, zones=due)
    db.session.execute(delete(MonthRedo).where(MonthRedo.zone.in_(sorted(marks))))
    db.session.flush()
    return months


def pending_from(user: Any) -> date | None:
    """The first month-end in the user's scope still waiting to be rewritten (None: none)."""
    if db.session.scalar(select(MonthRedo.zone).limit(1)) is None:
        return None  # the usual case: one cheap probe
    cells = MonthlyCount.__table__.c
    zones = select(MonthlyCount.zone).where(monthly_count_scope(user, cells)).distinct()
    return db.session.scalar(select(func.min(MonthRedo.from_month))
                             .where(MonthRedo.zone.in_(zones)))


def record_zone_moves(session: Any, _context: Any, _instances: Any) -> None:
    """before_flush: a firm whose zone changes gets a ZoneMove dated today (its month-ends
    before today stay in the zone it leaves; see history.zone_then)."""
    moved: dict[int, tuple[str | None, str]] = {}
    for obj in session.dirty:
        if type(obj) is not Enterprise or obj.id is None:
            continue
        changed = inspect(obj).attrs.zone.history
        if changed.added and changed.added[0] is not None:
            moved[obj.id] = (changed.deleted[0] if changed.deleted else None, changed.added[0])
    # set on an expired firm (after a commit) the old value is not in the history: read the
    # stored ones, in one query (the flush has not written them yet)
    unknown = sorted(i for i, (before, _now) in moved.items() if before is None)
    stored = dict(session.execute(select(Enterprise.id, Enterprise.zone)
                                  .where(Enterprise.id.in_(unknown))).all()) if unknown else {}
    day = today()
    for firm, (before, now) in sorted(moved.items()):
        before = before if before is not None else stored.get(firm)
        if before is not None and before != now:
            session.add(ZoneMove(enterprise_id=firm, moved_on=day, from_zone=before,
                                 to_zone=now))


def add_zone_moves(moves: list[tuple[int, str | None, str]]) -> None:
    """(firm, zone before, zone now) of firms moved by a bulk UPDATE the ORM does not see (an
    import's corrections): recorded as the before_flush hook records a form's."""
    rows = [{"enterprise_id": firm, "moved_on": today(), "from_zone": before, "to_zone": now}
            for firm, before, now in moves if before is not None and before != now]
    if rows:
        db.session.execute(ZoneMove.__table__.insert(), rows)


_installed: list[bool] = []


def install() -> None:
    """Connect the zone-move hook once per process (on the Session class, as tracker.changes)."""
    if _installed:
        return
    from sqlalchemy import event
    from sqlalchemy.orm import Session

    event.listen(Session, "before_flush", record_zone_moves)
    _installed.append(True)
