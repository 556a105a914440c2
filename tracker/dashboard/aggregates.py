"""Maintained dashboard figures: small per-zone count tables instead of full-register scans.

The dashboard's costly figures (firms per zone, rung and field; holders of a valid title per
kind; candidates per kind; the tech-SME → HNTE funnel cohorts; the histogram of finished stays
per rung) are counted per zone into dashboard_aggregates. A zone officer's figure is their
zone's rows, the bureau's the sum of every zone's: both read a few hundred rows.

Kept current three ways:
- the after-save pipeline (tracker.changes, stage "aggregates") recounts, set-based, only the
  zones of the firms a commit touched (and a zone a firm just left);
- the eligibility workers recount the zones of each chunk they recompute;
- `refresh()` recounts everything: nightly (beat) and `flask dashboard refresh-aggregates`.

Titles are valid by date, so a figure counted yesterday may be wrong today without any write;
and a counted change some path did not recount (counts_versions moved on) makes them stale too.
Stale figures are not shown: the readers fall back to the straightforward queries until the
next refresh, which a stale recount asks for.
"""

from __future__ import annotations

from collections import defaultdict
from datetime import date, datetime
from typing import Any

from flask import has_request_context
from sqlalchemy import ColumnElement, case, delete, distinct, func, insert, null, or_, select, true

from tracker import snapshots
from tracker.accounts.roles import GLOBAL_READ_ROLES, Role
from tracker.clock import now_utc, today
from tracker.dashboard import history
from tracker.dashboard.models import AggregateState, DashboardAggregate
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
#: session.info: zones a firm left in this transaction (their figures must be recounted too)
_LEFT_KEY = "aggregates_zones_left"
#: request.environ: the state row read once per request
_REQUEST_KEY = "tracker.aggregates_state"

#: the plan counts 科技领军 and 科技领军培育 together
_METRIC = case(
    (Qualification.kind.in_(("leader", "leader_cultivation")), "leader_any"),
    else_=Qualification.kind,
)


# --- counting (one GROUP BY per measure over the firms of some zones) ------------------------


def _firms(where: ColumnElement[bool], _day: date) -> Any:
    return (select(Enterprise.zone, Enterprise.current_rung, Enterprise.tech_field, func.count())
            .where(where, Enterprise.status == "active")
            .group_by(Enterprise.zone, Enterprise.current_rung, Enterprise.tech_field))


def _holders(where: ColumnElement[bool], day: date) -> Any:
    return (select(Enterprise.zone, _METRIC, null(),
                   func.count(distinct(Qualification.enterprise_id)))
            .join(Enterprise, Enterprise.id == Qualification.enterprise_id)
            .where(where, Enterprise.status == "active", Qualification.granted_on <= day,
                   or_(Qualification.valid_until.is_(None), Qualification.valid_until >= day),
                   or_(Qualification.revoked_on.is_(None), Qualification.revoked_on > day))
            .group_by(Enterprise.zone, _METRIC))


def _candidates(where: ColumnElement[bool], _day: date) -> Any:
    from tracker.ladder.queries import above_current_rung

    return (select(Enterprise.zone, EligibilityResult.kind, null(), func.count())
            .join(Enterprise, Enterprise.id == EligibilityResult.enterprise_id)
            .where(where, Enterprise.status == "active", EligibilityResult.candidate.is_(True),
                   above_current_rung(EligibilityResult.kind))
            .group_by(Enterprise.zone, EligibilityResult.kind))


def _funnel_rows(where: ColumnElement[bool], execute: Any) -> list[tuple[Any, str, str, int]]:
    funnel = history.registrations(where)
    reached = [func.sum(case((history.reached_within(funnel, k), 1), else_=0))
               for k in history.FUNNEL_YEARS]
    rows = execute(
        select(Enterprise.zone, funnel.c.year, func.count(), *reached)
        .join(Enterprise, Enterprise.id == funnel.c.enterprise_id)
        .group_by(Enterprise.zone, funnel.c.year))
    out = []
    for zone, year, registered, *within in rows:
        out.append((zone, str(int(year)), "registered", int(registered)))
        out.extend((zone, str(int(year)), str(k), int(n or 0))
                   for k, n in zip(history.FUNNEL_YEARS, within, strict=True))
    return out


def _stays(where: ColumnElement[bool], _day: date) -> Any:
    """Finished stays per (zone, rung, length in days): the median is read off the sum."""
    lead = func.lead(StageTransition.effective_on).over(
        partition_by=StageTransition.enterprise_id,
        order_by=(StageTransition.effective_on, StageTransition.id))
    moves = (select(Enterprise.zone.label("zone"), StageTransition.to_stage.label("rung"),
                    StageTransition.effective_on.label("started"), lead.label("ended"))
             .join(Enterprise, Enterprise.id == StageTransition.enterprise_id)
             .where(StageTransition.chain == "ladder", where, Enterprise.status == "active")
             .subquery("moves"))
    days = history.days_between(moves.c.ended, moves.c.started)
    return (select(moves.c.zone, moves.c.rung, days, func.count())
            .where(moves.c.rung.is_not(None), moves.c.ended.is_not(None))
            .group_by(moves.c.zone, moves.c.rung, days))


_QUERIES = {"firms": _firms, "holders": _holders, "candidates": _candidates, "stays": _stays}


def _text(value: Any) -> str:
    return "" if value is None else str(value)


def count_rows(where: ColumnElement[bool], day: date, execute: Any = None,
               dialect: str | None = None) -> list[dict[str, Any]]:
    """Every measure's rows for the firms matching `where`, counted on `day`.

    `execute` runs a statement and `dialect` names its database (default the session's; the
    migration's back-fill passes its own connection's).
    """
    token = history.DIALECT.set(dialect)
    try:
        execute = execute or db.session.execute
        rows: list[dict[str, Any]] = []
        for measure, query in _QUERIES.items():
            for zone, key, sub, n in execute(query(where, day)):
                rows.append({"measure": measure, "zone": _text(zone), "key": _text(key),
                             "sub": _text(sub), "value": int(n)})
        for zone, key, sub, n in _funnel_rows(where, execute):
            rows.append({"measure": "funnel", "zone": _text(zone), "key": key, "sub": sub,
                         "value": n})
    finally:
        history.DIALECT.reset(token)
    return rows


def _zone_clause(zones: set[str | None]) -> ColumnElement[bool]:
    named = sorted(z for z in zones if z)
    parts = [Enterprise.zone.in_(named)] if named else []
    if None in zones or "" in zones:
        parts.append(Enterprise.zone.is_(None))
    return or_(*parts) if parts else Enterprise.id.is_(None)


def recount(zones: set[str | None] | None, day: date | None = None) -> int:
    """Replace the rows of these zones (None: all) with fresh counts; flushes. Returns rows."""
    day = day or today()
    if zones is None:
        db.session.execute(delete(DashboardAggregate))
        rows = count_rows(true(), day)
    else:
        if not zones:
            return 0
        db.session.execute(delete(DashboardAggregate).where(
            DashboardAggregate.zone.in_(sorted(_text(z) for z in zones))))
        rows = count_rows(_zone_clause(zones), day)
    if rows:
        db.session.execute(insert(DashboardAggregate), rows)
    db.session.flush()
    return len(rows)


def _state() -> AggregateState | None:
    return db.session.get(AggregateState, _STATE_ID, populate_existing=True)


def refresh() -> int:
    """Recount every zone and mark the figures current for today; flushes. Returns rows."""
    day, stamp = today(), now_utc()
    written = recount(None, day)
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


def note_zone_left(zone: str | None, session: Any = None) -> None:
    """A firm left `zone` (moved or deleted) in this transaction: recount it at commit."""
    (session or db.session()).info.setdefault(_LEFT_KEY, set()).add(zone)


def recount_for(enterprise_ids: list[int]) -> bool:
    """Recount the zones of these firms (and zones a firm left) in this transaction.

    Only while the figures are current: if some earlier counted change was not recounted (or
    the day changed) they stay stale and a full refresh is asked for after the commit.
    Returns whether the figures are current afterwards.
    """
    left = db.session.info.pop(_LEFT_KEY, set())
    state = _state()
    if state is None:
        return False  # never built: the dashboard reads the straightforward queries
    current = snapshots.current_version()
    if state.counted_on != today() or state.counts_version not in (
            snapshots.version_before_transaction(), current):
        request_refresh()
        return False
    zones = set(db.session.scalars(
        select(Enterprise.zone).where(Enterprise.id.in_(enterprise_ids)).distinct()))
    recount(zones | left)
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

    from tracker.celery_app import _publish

    now = time.monotonic()
    if _asked_at and now - _asked_at[-1] < ASK_EVERY_SECONDS:
        return
    _asked_at[:] = [now]
    _publish(_refresh_task(), (), {"force": False})


def _refresh_task() -> Any:
    """The refresh task by name (dashboard.tasks runs this module: no import back)."""
    from flask import current_app

    return current_app.extensions["celery"].signature("tracker.dashboard.refresh_aggregates")


# --- reading -------------------------------------------------------------------------------


def _zone_of(user: Any) -> tuple[bool, str | None]:
    """(whether the user's scope is a sum of zones, the one zone or None for all)."""
    role = getattr(user, "role", None)
    if not getattr(user, "is_authenticated", False):
        return False, None
    if role in GLOBAL_READ_ROLES:
        return True, None
    if role == Role.ZONE and user.zone:
        return True, user.zone
    return False, None  # carrier managers: their current tenants, not a zone


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
    return _zone_of(user)[0] and current_state() is not None


def updated_at(user: Any) -> datetime | None:
    """When the figures this user reads were last recounted (None: not read from here)."""
    state = current_state() if _zone_of(user)[0] else None
    return state.updated_at if state is not None else None


def read(user: Any, measure: str) -> dict[tuple[str | None, str | None, str | None], int] | None:
    """(zone, key, sub) -> value in the user's scope; None when the straightforward query
    must answer (a scope that is not a sum of zones, or figures not current)."""
    if not usable(user):
        return None
    _ok, zone = _zone_of(user)
    query = select(DashboardAggregate.zone, DashboardAggregate.key, DashboardAggregate.sub,
                   DashboardAggregate.value).where(DashboardAggregate.measure == measure)
    if zone is not None:
        query = query.where(DashboardAggregate.zone == zone)
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



# --- the zone a firm leaves ------------------------------------------------------------------


def _before_flush(session: Any, _context: Any, _instances: Any) -> None:
    """A firm moved to another zone or deleted: its old zone's rows must be recounted too
    (the stage only sees the firm's id, and by then its zone is the new one). Before the
    flush, so the stored zone is still readable when the old value was never loaded."""
    from sqlalchemy import inspect

    unloaded = []
    for obj in session.deleted:
        if isinstance(obj, Enterprise):
            note_zone_left(obj.zone, session)
    for obj in session.dirty:
        if isinstance(obj, Enterprise):
            history_ = inspect(obj).attrs.zone.history
            if history_.deleted:
                for zone in history_.deleted:
                    note_zone_left(zone, session)
            elif history_.added and obj.id is not None:
                unloaded.append(obj.id)  # set while expired: the old value is in the row
    if unloaded:
        with session.no_autoflush:
            for zone in session.scalars(select(Enterprise.zone).where(
                    Enterprise.id.in_(unloaded)).distinct()):
                note_zone_left(zone, session)


def _after_soft_rollback(session: Any, _previous: Any) -> None:
    if not session.in_transaction():
        session.info.pop(_LEFT_KEY, None)


_installed = False


def install() -> None:
    """Connect the listener once per process (on the Session class, as tracker.changes)."""
    global _installed
    if _installed:
        return
    from sqlalchemy import event
    from sqlalchemy.orm import Session

    event.listen(Session, "before_flush", _before_flush)
    event.listen(Session, "after_soft_rollback", _after_soft_rollback)
    _installed = True
