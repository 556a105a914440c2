"""Maintained dashboard figures: small per-zone count tables instead of full-register scans.

The dashboard's costly figures (firms per zone, rung and field; holders of a valid title per
kind; candidates per kind; the tech-SME → HNTE funnel cohorts; the histogram of finished stays
per rung) are counted per zone into dashboard_aggregates. A zone officer's figure is their
zone's rows, the bureau's the sum of every zone's: both read a few hundred rows.

Kept current three ways:
- each active firm's own contribution is stored as its marks (dashboard_firm_marks); the
  after-save pipeline (tracker.changes, stage "aggregates") recounts only the firms a commit
  touched and adds the difference with their stored marks to the figures (a zone move or an
  archive takes the old zone from the old marks);
- `refresh()` recounts every firm's marks and sums them: nightly (beat) and
  `flask dashboard refresh-aggregates`.

Titles are valid by date, so a figure counted yesterday may be wrong today without any write;
and a counted change some path did not recount (counts_versions moved on) makes them stale too.
Stale figures are not shown: the readers fall back to the straightforward queries until the
next refresh, which a stale recount asks for.
"""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Callable
from datetime import date, datetime
from typing import Any

from flask import has_request_context
from sqlalchemy import ColumnElement, bindparam, case, delete, func, null, or_, select, tuple_

from tracker import snapshots
from tracker.accounts.scope import zone_sum_scope
from tracker.clock import now_utc, today
from tracker.dashboard import history
from tracker.dashboard.models import AggregateState, DashboardAggregate, DashboardFirmMark
from tracker.enterprises.models import Enterprise
from tracker.extensions import db
from tracker.ladder.models import EligibilityResult, Qualification, StageTransition

#: what each measure's rows count (key; sub)
MEASURES = {
    "firms": "active firms (current rung; technology field)",
    "holders": "active firms holding a valid title (metric)",
    "candidates": "active firms that are candidates for a rung above theirs (kind)",
    "funnel": "tech-SME registrations of a year (year; registered or reached HNTE within k)",
    "stays": "finished stays on a rung (rung; length in days)",
}
_STATE_ID = 1
#: request.environ: the state row read once per request
_REQUEST_KEY = "tracker.aggregates_state"

#: the plan counts 科技领军 and 科技领军培育 together
_METRIC = case(
    (Qualification.kind.in_(("leader", "leader_cultivation")), "leader_any"),
    else_=Qualification.kind,
)


# --- counting (one GROUP BY per measure; per firm as well for the marks) -------------------


def _by(per_firm: bool, *columns: Any) -> list[Any]:
    """The grouping columns, led by the firm's id when counting each firm's own rows."""
    return [Enterprise.id, *columns] if per_firm else list(columns)


def _firms(where: ColumnElement[bool], _day: date, per_firm: bool) -> Any:
    by = _by(per_firm, Enterprise.zone, Enterprise.current_rung, Enterprise.tech_field)
    return (select(*by, func.count())
            .where(where, Enterprise.status == "active")
            .group_by(*by))


def _holders(where: ColumnElement[bool], day: date, per_firm: bool) -> Any:
    by = _by(per_firm, Enterprise.zone, _METRIC)
    return (select(*by, null(), func.count(Qualification.enterprise_id.distinct()))
            .join(Enterprise, Enterprise.id == Qualification.enterprise_id)
            .where(where, Enterprise.status == "active", Qualification.granted_on <= day,
                   or_(Qualification.valid_until.is_(None), Qualification.valid_until >= day),
                   or_(Qualification.revoked_on.is_(None), Qualification.revoked_on > day))
            .group_by(*by))


def _candidates(where: ColumnElement[bool], _day: date, per_firm: bool) -> Any:
    from tracker.ladder.queries import above_current_rung

    by = _by(per_firm, Enterprise.zone, EligibilityResult.kind)
    return (select(*by, null(), func.count())
            .join(Enterprise, Enterprise.id == EligibilityResult.enterprise_id)
            .where(where, Enterprise.status == "active", EligibilityResult.candidate.is_(True),
                   above_current_rung(EligibilityResult.kind))
            .group_by(*by))


def _funnel_rows(where: ColumnElement[bool], execute: Any,
                 per_firm: bool) -> list[tuple[Any, ...]]:
    funnel = history.registrations(where)
    reached = [func.sum(case((history.reached_within(funnel, k), 1), else_=0))
               for k in history.FUNNEL_YEARS]
    by = _by(per_firm, Enterprise.zone, funnel.c.year)
    rows = execute(
        select(*by, func.count(), *reached)
        .join(Enterprise, Enterprise.id == funnel.c.enterprise_id)
        .group_by(*by))
    out = []
    for row in rows:
        firm = (row[0],) if per_firm else ()
        zone, year, registered, *within = row[1:] if per_firm else row
        out.append((*firm, zone, str(int(year)), "registered", int(registered)))
        out.extend((*firm, zone, str(int(year)), str(k), int(n or 0))
                   for k, n in zip(history.FUNNEL_YEARS, within, strict=True))
    return out


def _stays(where: ColumnElement[bool], _day: date, per_firm: bool) -> Any:
    """Finished stays per (zone, rung, length in days): the median is read off the sum."""
    lead = func.lead(StageTransition.effective_on).over(
        partition_by=StageTransition.enterprise_id,
        order_by=(StageTransition.effective_on, StageTransition.id))
    moves = (select(Enterprise.id.label("firm"), Enterprise.zone.label("zone"),
                    StageTransition.to_stage.label("rung"),
                    StageTransition.effective_on.label("started"), lead.label("ended"))
             .join(Enterprise, Enterprise.id == StageTransition.enterprise_id)
             .where(StageTransition.chain == "ladder", where, Enterprise.status == "active")
             .subquery("moves"))
    days = history.days_between(moves.c.ended, moves.c.started)
    by = [moves.c.firm] if per_firm else []
    by += [moves.c.zone, moves.c.rung, days]
    return (select(*by, func.count())
            .where(moves.c.rung.is_not(None), moves.c.ended.is_not(None))
            .group_by(*by))


_QUERIES = {"firms": _firms, "holders": _holders, "candidates": _candidates, "stays": _stays}


def _text(value: Any) -> str:
    return "" if value is None else str(value)


def count_rows(where: ColumnElement[bool], day: date, execute: Any = None,
               dialect: str | None = None, per_firm: bool = False) -> list[dict[str, Any]]:
    """Every measure's rows for the firms matching `where`, counted on `day`.

    `per_firm`: each firm's own rows (its marks, with its enterprise_id; rows of 0 left out),
    which sum to the zone's. `execute` runs a statement and `dialect` names its database
    (default the session's; the migration's back-fill passes its own connection's).
    """
    token = history.DIALECT.set(dialect)
    try:
        execute = execute or db.session.execute
        found: list[tuple[str, tuple[Any, ...]]] = []
        for measure, query in _QUERIES.items():
            found.extend((measure, tuple(row)) for row in execute(query(where, day, per_firm)))
        found.extend(("funnel", row) for row in _funnel_rows(where, execute, per_firm))
        rows: list[dict[str, Any]] = []
        for measure, row in found:
            firm, (zone, key, sub, n) = (row[0], row[1:]) if per_firm else (None, row)
            if per_firm and not n:
                continue
            out = {"measure": measure, "zone": _text(zone), "key": _text(key),
                   "sub": _text(sub), "value": int(n)}
            if per_firm:
                out["enterprise_id"] = firm
            rows.append(out)
    finally:
        history.DIALECT.reset(token)
    return rows


def sum_marks() -> Any:
    """INSERT … SELECT: the figures as the sum of every firm's marks."""
    marks = DashboardFirmMark.__table__
    by = (marks.c.measure, marks.c.zone, marks.c.key, marks.c.sub)
    return DashboardAggregate.__table__.insert().from_select(
        ["measure", "zone", "key", "sub", "value"],
        select(*by, func.sum(marks.c.value)).group_by(*by))


#: firms counted per round of a full recount: the marks of one round are held in memory
MARK_BATCH = 20_000


def rebuild(execute: Any = None, day: date | None = None, dialect: str | None = None, *,
            write: Callable[[list[dict[str, Any]]], Any] | None = None) -> int:
    """Recount every firm's marks and derive the figures from them (set-based: the marks
    counted and written MARK_BATCH firms at a time, so memory stays flat with the register,
    then one INSERT … SELECT). `write` stores a batch of marks (default one executemany; the
    generator passes its COPY). Returns the marks written."""
    execute = execute or db.session.execute
    table = DashboardFirmMark.__table__
    execute(table.delete())
    execute(DashboardAggregate.__table__.delete())
    write = write or (lambda rows: execute(table.insert(), rows))
    top = execute(select(func.max(Enterprise.id))).scalar() or 0
    written = 0
    for low in range(0, top, MARK_BATCH):
        marks = count_rows(Enterprise.id.between(low + 1, low + MARK_BATCH), day or today(),
                           execute, dialect, per_firm=True)
        if marks:
            write(marks)
        written += len(marks)
    execute(sum_marks())
    return written


def _state() -> AggregateState | None:
    return db.session.get(AggregateState, _STATE_ID, populate_existing=True)


def refresh(write: Callable[[list[dict[str, Any]]], Any] | None = None) -> int:
    """Recount every firm and mark the figures current for today; flushes. Returns marks.

    `write` stores a batch of marks (see rebuild)."""
    day, stamp = today(), now_utc()
    written = rebuild(day=day, write=write)
    version = snapshots.current_version()
    state = _state()
    if state is None:
        db.session.add(AggregateState(id=_STATE_ID, counted_on=day, counts_version=version,
                                      refreshed_at=stamp, updated_at=stamp))
    else:
        state.counted_on, state.counts_version = day, version
        state.refreshed_at = state.updated_at = stamp
    db.session.flush()
    return written


_CELL = ("measure", "zone", "key", "sub")


def _apply(ids: list[int], day: date) -> None:
    """Swap these firms' stored marks for fresh ones and add the difference to the figures.

    A firm no longer active (archived, deleted) has no fresh marks; a firm that moved zone
    has its old zone in its old marks: both come off the right rows with no listener."""
    marks = DashboardFirmMark
    new = count_rows(Enterprise.id.in_(ids), day, per_firm=True)
    delta: dict[tuple[str, str, str, str], int] = defaultdict(int)
    for row in new:
        delta[tuple(row[c] for c in _CELL)] += row["value"]
    for *cell, value in db.session.execute(
            select(marks.measure, marks.zone, marks.key, marks.sub, marks.value)
            .where(marks.enterprise_id.in_(ids))):
        delta[tuple(cell)] -= value
    delta = {cell: d for cell, d in delta.items() if d}
    if delta:
        figures = DashboardAggregate
        cells = tuple_(figures.measure, figures.zone, figures.key, figures.sub)
        present = {tuple(row) for row in db.session.execute(
            select(figures.measure, figures.zone, figures.key, figures.sub)
            .where(cells.in_(list(delta))))}
        table = figures.__table__
        changed = [dict(zip(("m", "z", "k", "s"), cell, strict=True), d=d)
                   for cell, d in delta.items() if cell in present]
        if changed:
            db.session.execute(
                table.update().where(table.c.measure == bindparam("m"),
                                     table.c.zone == bindparam("z"),
                                     table.c.key == bindparam("k"),
                                     table.c.sub == bindparam("s"))
                .values(value=table.c.value + bindparam("d")), changed)
        added = [dict(zip(_CELL, cell, strict=True), value=d)
                 for cell, d in delta.items() if cell not in present]
        if added:
            db.session.execute(table.insert(), added)
        db.session.execute(delete(figures).where(cells.in_(list(delta)), figures.value == 0))
    db.session.execute(delete(marks).where(marks.enterprise_id.in_(ids)))
    if new:
        db.session.execute(marks.__table__.insert(), new)


def recount_for(enterprise_ids: list[int]) -> bool:
    """Recount these firms' own contributions in this transaction (their cost, not their
    zones'): the difference with their stored marks is added to the figures.

    Only while the figures are current: if some earlier counted change was not recounted (or
    the day changed) they stay stale and a full refresh is asked for after the commit.
    Returns whether the figures are current afterwards.
    """
    state = _state()
    if state is None:
        return False  # never built: the dashboard reads the straightforward queries
    current = snapshots.current_version()
    if state.counted_on != today() or state.counts_version not in (
            snapshots.version_before_transaction(), current):
        request_refresh()
        return False
    ids = sorted(set(enterprise_ids))
    if ids:
        _apply(ids, today())
    state.counts_version, state.updated_at = current, now_utc()
    db.session.flush()
    return True


def request_refresh() -> None:
    """Ask a worker for a full refresh once this transaction commits (a second ask finds the
    figures current and costs one query)."""
    from tracker.celery_app import enqueue_after_commit

    enqueue_after_commit(_refresh_task(), force=False)


#: seconds between two refreshes one process asks for while it reads stale figures
ASK_EVERY_SECONDS = 60
_asked_at: list[float] = []


def _ask_refresh_throttled() -> None:
    """Ask a worker for a full refresh now (a reader found the figures stale: a worker's
    recompute changed candidates, or the day changed before the nightly run), at most once a
    minute per process; the task itself does nothing if another already caught up. A broker
    down: logged, and the nightly refresh catches up."""
    import time

    from tracker.celery_app import publish

    now = time.monotonic()
    if _asked_at and now - _asked_at[-1] < ASK_EVERY_SECONDS:
        return
    _asked_at[:] = [now]
    publish(_refresh_task(), force=False)


def _refresh_task() -> Any:
    """The refresh task by name (dashboard.tasks runs this module: no import back)."""
    from flask import current_app

    return current_app.extensions["celery"].signature("tracker.dashboard.refresh_aggregates")


# --- reading -------------------------------------------------------------------------------


def _scope(user: Any) -> ColumnElement[bool] | None:
    """The zone rows a user's figures sum (None: not a sum of zones, counted directly)."""
    return zone_sum_scope(user, DashboardAggregate.zone)


def current_state() -> AggregateState | None:
    """The state row if the figures are current (today's, no counted change missed)."""
    from flask import request

    # once per request (kept on the request: tests run many requests in one app context)
    if has_request_context() and _REQUEST_KEY in request.environ:
        return request.environ[_REQUEST_KEY]
    state = _state()
    if state is not None and (state.counted_on != today()
                              or state.counts_version != snapshots.version()):
        state = None
        _ask_refresh_throttled()  # a worker's recompute, a new day: recount in the background
    if has_request_context():
        request.environ[_REQUEST_KEY] = state
    return state


def usable(user: Any) -> bool:
    return _scope(user) is not None and current_state() is not None


def updated_at(user: Any) -> datetime | None:
    """When the figures this user reads were last recounted (None: not read from here)."""
    state = current_state() if _scope(user) is not None else None
    return state.updated_at if state is not None else None


def read(user: Any, measure: str) -> dict[tuple[str | None, str | None, str | None], int] | None:
    """(zone, key, sub) -> value in the user's scope; None when the straightforward query
    must answer (a scope that is not a sum of zones, or figures not current)."""
    if not usable(user):
        return None
    query = select(DashboardAggregate.zone, DashboardAggregate.key, DashboardAggregate.sub,
                   DashboardAggregate.value).where(DashboardAggregate.measure == measure,
                                                   _scope(user))
    return {(z or None, k or None, s or None): v for z, k, s, v in db.session.execute(query)}


def sums(user: Any, measure: str) -> dict[tuple[str | None, str | None], int] | None:
    """(key, sub) -> value summed over the zones in the user's scope (or None, see read)."""
    cells = read(user, measure)
    if cells is None:
        return None
    out: dict[tuple[str | None, str | None], int] = defaultdict(int)
    for (_zone, key, sub), n in cells.items():
        out[(key, sub)] += n
    return dict(out)


def holders(user: Any) -> dict[str, int] | None:
    found = sums(user, "holders")
    return None if found is None else {key: n for (key, _s), n in found.items() if n}


def candidates(user: Any) -> dict[str, int] | None:
    found = sums(user, "candidates")
    return None if found is None else {key: n for (key, _s), n in found.items() if n}


def funnel_counts(user: Any) -> dict[int, dict[str, int]] | None:
    """The shape of history.funnel_counts, from the cohort rows."""
    found = sums(user, "funnel")
    if found is None:
        return None
    out: dict[int, dict[str, int]] = {}
    for (year, column), n in found.items():
        out.setdefault(int(year), {"registered": 0, **{str(k): 0 for k in
                                                        history.FUNNEL_YEARS}})[column] = n
    return dict(sorted(out.items()))


def median_stays(user: Any) -> dict[str, tuple[int, int]] | None:
    """The shape of history.median_stays (lower median), from the summed histogram."""
    found = sums(user, "stays")
    if found is None:
        return None
    by_rung: dict[str, list[tuple[int, int]]] = defaultdict(list)
    for (rung, days), n in found.items():
        by_rung[rung].append((int(days), n))
    out = {}
    for rung, buckets in by_rung.items():
        total = sum(n for _d, n in buckets)
        position, seen = (total + 1) // 2, 0
        for days, n in sorted(buckets):
            seen += n
            if seen >= position:
                out[rung] = (days, total)
                break
    return out
