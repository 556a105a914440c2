"""Maintained dashboard figures: small per-zone count tables instead of full-register scans.

The dashboard's costly figures (firms per zone, rung and field; holders of a valid title per
kind; candidates per kind; the tech-SME → HNTE funnel cohorts; the histogram of finished stays
per rung; titles expiring per month; firms per application status; reminders per ledger
status) are counted per zone into dashboard_aggregates. A zone officer's figure is their
zone's rows, the bureau's the sum of every zone's: both read a few hundred rows.

Kept current these ways:
- each active firm's own contribution is stored as its marks (dashboard_firm_marks); the
  after-save pipeline (tracker.changes, stage "aggregates") recounts only the firms a commit
  touched and adds the difference with their stored marks to the figures (a zone move or an
  archive takes the old zone from the old marks);
- `refresh()` recounts every firm's marks and sums them inside the database (INSERT …
  SELECT of the same statement the per-save recount reads): nightly (beat) and
  `flask dashboard refresh-aggregates`;
- a worker's recompute of eligibility (tracker.ladder.results) recounts the firms whose
  stored results it changed, in the same transaction;
- a write that moves the reminders ledger without saving a firm (sending, the reaper, the
  scheduled sweep, staff actions) notes its firms, whose reminder marks the commit recounts
  (tracker.dashboard.ledger_counts).

Titles are valid by date, so a figure counted yesterday may be wrong today without any write;
and a counted change some path did not recount (the counts version moved on) makes them stale too.
Stale figures are not shown: the readers fall back to the straightforward queries until the
next refresh, which a stale recount asks for.
"""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Collection
from datetime import date, datetime, timedelta
from typing import Any

from flask import has_request_context
from sqlalchemy import (
    ColumnElement,
    String,
    and_,
    bindparam,
    case,
    cast,
    delete,
    func,
    literal,
    null,
    or_,
    select,
    true,
    tuple_,
    union_all,
    update,
)

from tracker import ledger_changes, snapshots
from tracker.accounts.scope import zone_sum_scope
from tracker.clock import now_utc, today
from tracker.dashboard import history
from tracker.dashboard.models import AggregateState, DashboardAggregate, DashboardFirmMark
from tracker.enterprises.models import Enterprise
from tracker.extensions import db
from tracker.ladder.models import Application, EligibilityResult, Qualification, StageTransition
from tracker.reminders.models import Reminder

#: what each measure's rows count (key; sub)
MEASURES = {
    "firms": "active firms (current rung; technology field)",
    "holders": "active firms holding a valid title (metric)",
    "candidates": "active firms that are candidates for a rung above theirs (kind)",
    "funnel": "tech-SME registrations of a year (year; registered or reached HNTE within k)",
    "stays": "finished stays on a rung (rung; length in days)",
    "stays_30": "finished stays on a rung (rung; length in 30-day buckets: days // 30)",
    "expiring": "active firms with a title valid today ending in a month shown (YYYY-MM)",
    "applications": "active firms with an application in a status (status)",
    "reminders": "reminders about a firm, whatever its status, in a ledger status (status)",
}
#: days per coarse bucket of the stays histogram (the median reads the buckets, then the days
#: of the one bucket holding it: rows bounded by the history's span, not the register's size)
STAY_BUCKET_DAYS = 30
#: months ahead the expiry figures count, from today's month
EXPIRY_MONTHS = 12
_STATE_ID = 1
#: request.environ: the state row read once per request
_REQUEST_KEY = "tracker.aggregates_state"

#: the plan counts 科技领军 and 科技领军培育 together
_METRIC = case(
    (Qualification.kind.in_(("leader", "leader_cultivation")), "leader_any"),
    else_=Qualification.kind,
)


# --- counting: each firm's own rows (its marks), one SELECT for every measure --------------


def _firms(where: ColumnElement[bool], _day: date) -> Any:
    by = (Enterprise.id, Enterprise.zone, Enterprise.current_rung, Enterprise.tech_field)
    return (select(*by, func.count())
            .where(where, Enterprise.status == "active")
            .group_by(*by))


def _holders(where: ColumnElement[bool], day: date) -> Any:
    by = (Enterprise.id, Enterprise.zone, _METRIC)
    return (select(*by, null(), func.count(Qualification.enterprise_id.distinct()))
            .join(Enterprise, Enterprise.id == Qualification.enterprise_id)
            .where(where, Enterprise.status == "active", Qualification.valid_on(day))
            .group_by(*by))


def _candidates(where: ColumnElement[bool], _day: date) -> Any:
    from tracker.ladder.queries import above_current_rung

    by = (Enterprise.id, Enterprise.zone, EligibilityResult.kind)
    return (select(*by, null(), func.count())
            .join(Enterprise, Enterprise.id == EligibilityResult.enterprise_id)
            .where(where, Enterprise.status == "active", EligibilityResult.candidate.is_(True),
                   above_current_rung(EligibilityResult.kind))
            .group_by(*by))


def _funnel_columns() -> Any:
    """The funnel's columns as a constant table ("registered", then "k": reached HNTE within
    k years): crossed with the cohort rows, each row gives one mark per column in one scan
    (a UNION ALL of literal selects: SQLite's VALUES cannot name its columns)."""
    names = ["registered", *(str(k) for k in history.FUNNEL_YEARS)]
    return union_all(*(select(literal(name, String).label("col")) for name in names)
                     ).subquery("cols")


def _funnel(where: ColumnElement[bool], _day: date) -> Any:
    funnel = history.registrations(where)
    reached = [func.sum(case((history.reached_within(funnel, k), 1), else_=0)).label(f"r{k}")
               for k in history.FUNNEL_YEARS]
    by = (Enterprise.id.label("firm"), Enterprise.zone.label("zone"), funnel.c.year)
    cohorts = (select(*by, func.count().label("registered"), *reached)
               .join(Enterprise, Enterprise.id == funnel.c.enterprise_id)
               .group_by(*by).subquery("cohorts"))
    cols = _funnel_columns()
    value = case((cols.c.col == "registered", cohorts.c.registered),
                 *((cols.c.col == str(k), cohorts.c[f"r{k}"]) for k in history.FUNNEL_YEARS))
    return select(cohorts.c.firm, cohorts.c.zone, cohorts.c.year, cols.c.col,
                  value).select_from(cohorts.join(cols, true()))


def _stays(where: ColumnElement[bool], _day: date, bucket: int = 1) -> Any:
    """Finished stays per (zone, rung, length in days // bucket): the median is read off the
    sum (the coarse buckets first, then the days of the bucket holding it)."""
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
    if bucket > 1:
        days = days // bucket  # integers: floor division (lengths are never negative)
    by = (moves.c.firm, moves.c.zone, moves.c.rung, days)
    return (select(*by, func.count())
            .where(moves.c.rung.is_not(None), moves.c.ended.is_not(None))
            .group_by(*by))


def _stay_buckets(where: ColumnElement[bool], day: date) -> Any:
    """The stays again, in 30-day buckets: derived from "stays", but stored, not derived at
    read time. Summed from "stays" when read, the median would read every (zone, rung, length)
    row: the distinct lengths grow with the register up to the history's span (thousands per
    rung and zone at scale), to find one bucket. Stored, the read is span ÷ 30 rows per rung
    and zone whatever the size, for one more mark per finished stay, kept by the same recount
    in the same statement (marks_select), so it cannot drift from "stays"."""
    return _stays(where, day, STAY_BUCKET_DAYS)


def expiry_months(day: date) -> tuple[list[str], date]:
    """The months the expiry figures count ('YYYY-MM', from `day`'s) and the last one's end."""
    months, cursor = [], day
    for _i in range(EXPIRY_MONTHS):
        months.append(cursor.strftime("%Y-%m"))
        cursor = history.month_end(cursor) + timedelta(days=1)
    return months, cursor - timedelta(days=1)


def _month_text(value: Any) -> Any:
    if history.dialect() == "sqlite":
        return func.strftime("%Y-%m", value)
    return func.to_char(value, "YYYY-MM")


def _expiring(where: ColumnElement[bool], day: date) -> Any:
    """One mark per firm and month shown in which a title valid on `day` ends (the chart's
    drilldown.expiring_clause over the whole window: counted on `day`, as every mark is)."""
    last = expiry_months(day)[1]
    by = (Enterprise.id, Enterprise.zone, _month_text(Qualification.valid_until))
    return (select(*by, null(), func.count(Qualification.enterprise_id.distinct()))
            .join(Enterprise, Enterprise.id == Qualification.enterprise_id)
            .where(where, Enterprise.status == "active", Qualification.valid_until >= day,
                   Qualification.valid_until <= last, Qualification.granted_on <= day,
                   or_(Qualification.revoked_on.is_(None), Qualification.revoked_on > day))
            .group_by(*by))


def _applications(where: ColumnElement[bool], _day: date) -> Any:
    """One mark per active firm and status of its applications (the workload chart counts
    firms, not applications)."""
    by = (Enterprise.id, Enterprise.zone, Application.status)
    return (select(*by, null(), func.count(Application.enterprise_id.distinct()))
            .join(Enterprise, Enterprise.id == Application.enterprise_id)
            .where(where, Enterprise.status == "active")
            .group_by(*by))


def _reminders(where: ColumnElement[bool], _day: date) -> Any:
    """A firm's reminders per ledger status, archived firms' too (the ledger's scope is the
    firms a user sees, whatever their status). Rows about no firm (digests) are nobody's
    mark: the readers count those live (tracker.dashboard.ledger_counts)."""
    by = (Enterprise.id, Enterprise.zone, Reminder.status)
    return (select(*by, null(), func.count())
            .join(Enterprise, Enterprise.id == Reminder.enterprise_id)
            .where(where)
            .group_by(*by))


#: (firm, zone, key, sub, value) of each measure's marks
_QUERIES = {"firms": _firms, "holders": _holders, "candidates": _candidates,
            "funnel": _funnel, "stays": _stays, "stays_30": _stay_buckets,
            "expiring": _expiring, "applications": _applications, "reminders": _reminders}
#: the measures a change to the reminders ledger alone moves (ledger_counts.recount_ledger)
LEDGER_MEASURES = ("reminders",)
#: the marks' columns, in the order marks_select returns them
MARK_COLUMNS = ["enterprise_id", "measure", "zone", "key", "sub", "value"]


def _text(value: Any) -> Any:
    """A cell's text as the marks store it: '' for none, a number's digits (a year, days)."""
    return func.coalesce(cast(value, String), "")


def marks_select(where: ColumnElement[bool], day: date,
                 measures: Collection[str] | None = None) -> Any:
    """The marks of the firms matching `where`, counted on `day`: one UNION ALL of every
    measure's (or these `measures`') per-firm rows (rows of 0 left out) in MARK_COLUMNS order.

    The one definition both ways of keeping the figures read: the per-save recount runs it
    for the firms a commit touched, the full refresh inserts its rows for every firm with
    INSERT … SELECT, so the two cannot count differently.
    """
    parts = []
    for measure, query in _QUERIES.items():
        if measures is not None and measure not in measures:
            continue
        rows = query(where, day).subquery(f"m_{measure}")
        firm, zone, key, sub, n = rows.c
        parts.append(select(firm, literal(measure, String), _text(zone), _text(key),
                            _text(sub), n).where(n > 0))
    return union_all(*parts)


def count_rows(where: ColumnElement[bool], day: date,
               measures: Collection[str] | None = None) -> list[dict[str, Any]]:
    """The marks of the firms matching `where` (the per-save recount), as rows."""
    return [dict(zip(MARK_COLUMNS, row, strict=True))
            for row in db.session.execute(marks_select(where, day, measures))]


def sum_marks() -> Any:
    """INSERT … SELECT: the figures as the sum of every firm's marks."""
    marks = DashboardFirmMark.__table__
    by = (marks.c.measure, marks.c.zone, marks.c.key, marks.c.sub)
    return DashboardAggregate.__table__.insert().from_select(
        ["measure", "zone", "key", "sub", "value"],
        select(*by, func.sum(marks.c.value)).group_by(*by))


def rebuild(execute: Any = None, day: date | None = None, dialect: str | None = None) -> int:
    """Recount every firm's marks and derive the figures from them, in the database: one
    INSERT … SELECT of every marks row, one of the figures summed from them (no row passes
    through Python, so the cost is the database's own, flat in statements). `execute` and
    `dialect`: the migration's back-fill passes its own connection's. Returns the marks written.
    """
    execute = execute or db.session.execute
    token = history.DIALECT.set(dialect)
    try:
        table = DashboardFirmMark.__table__
        execute(table.delete())
        execute(DashboardAggregate.__table__.delete())
        written = execute(table.insert().from_select(
            MARK_COLUMNS, marks_select(true(), day or today()))).rowcount
        if written is None or written < 0:  # a driver that does not say: ask
            written = execute(select(func.count()).select_from(table)).scalar()
        execute(sum_marks())
    finally:
        history.DIALECT.reset(token)
    return int(written or 0)


def _state(lock: bool = False) -> AggregateState | None:
    """The state row; `lock`: FOR UPDATE, held until this transaction ends (see refresh)."""
    return db.session.get(AggregateState, _STATE_ID, populate_existing=True,
                          with_for_update=lock or None)


def refresh() -> int:
    """Recount every firm and mark the figures current for today; flushes. Returns marks.

    The state row is locked first, as recount_for does: a save's recount waits for this
    commit and then adds its delta to the new marks (it would otherwise fail on their keys,
    or add to figures this refresh replaces). The committed version is read before counting:
    a change committed in between is counted but not claimed, so the figures read as stale
    (never as current without it); one committed after it moves the counter on (snapshots).

    The lock is an UPDATE, not a SELECT … FOR UPDATE. On SQLite a transaction begun as a
    writer (the task, a POST, `extensions.writing()`) holds the write lock from its BEGIN
    anyway; a deferred one (`flask generate`, a test calling the task's body) gets it from
    this first write, waiting on the busy timeout: a read first would begin a snapshot that
    a writer committing meanwhile makes stale, and the refresh's first write would then fail
    at once ("database is locked"). So in a deferred transaction, call it with no read before.
    """
    day, stamp = today(), now_utc()
    db.session.execute(update(AggregateState).where(AggregateState.id == _STATE_ID)
                       .values(updated_at=stamp)
                       .execution_options(synchronize_session=False))
    version = snapshots.current_version()
    written = rebuild(day=day)
    state = _state()
    if state is None:  # the first refresh: nothing to lock yet
        db.session.add(AggregateState(id=_STATE_ID, counted_on=day, counts_version=version,
                                      refreshed_at=stamp, updated_at=stamp))
    else:
        state.counted_on, state.counts_version = day, version
        state.refreshed_at = state.updated_at = stamp
    db.session.flush()
    return written


_CELL = ("measure", "zone", "key", "sub")
#: session.info: (transaction, the version its last recount marked the figures with, the
#: committed version it saw)
_RECOUNTED_KEY = "aggregates_recounted"


def recount_marks(ids: list[int], day: date, measures: Collection[str] | None = None) -> None:
    """Swap these firms' stored marks (of every measure, or of these `measures`) for fresh
    ones and add the difference to the figures.

    A firm no longer active (archived, deleted) has no fresh marks but its reminders'; a firm
    that moved zone has its old zone in its old marks: both come off the right rows with no
    listener."""
    marks = DashboardFirmMark
    new = count_rows(Enterprise.id.in_(ids), day, measures)
    mine = marks.enterprise_id.in_(ids)
    if measures is not None:
        mine = and_(mine, marks.measure.in_(sorted(measures)))
    delta: dict[tuple[str, str, str, str], int] = defaultdict(int)
    for row in new:
        delta[tuple(row[c] for c in _CELL)] += row["value"]
    for *cell, value in db.session.execute(
            select(marks.measure, marks.zone, marks.key, marks.sub, marks.value).where(mine)):
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
    db.session.execute(delete(marks).where(mine))
    if new:
        db.session.execute(marks.__table__.insert(), new)


def locked_current_state() -> tuple[AggregateState | None, int | None]:
    """(the state row, locked until this transaction ends, if the figures hold every counted
    change committed so far; the committed counts version), or (None, None) when they were
    never built, (None, version) when they are stale.

    Locked first (as refresh does), so recounts and a refresh run one after another: a
    refresh's new marks are committed before the caller reads the stored ones (PostgreSQL's
    READ COMMITTED: each statement after the wait sees them). SQLite ignores FOR UPDATE; the
    caller has written already, so it holds the database's write lock.
    """
    state = _state(lock=True)
    if state is None:
        return None, None  # never built: the dashboard reads the straightforward queries
    # the committed version (this transaction's own bump is applied at its commit): the
    # figures hold every change up to it when they were counted under it
    committed = snapshots.current_version()
    session = db.session()
    # a recount earlier in this transaction (a worker's recompute, then the pipeline at its
    # commit) marked the figures with the version this commit will make, if no other commit
    # has moved the counter since: then they hold every change but this transaction's
    noted = session.info.get(_RECOUNTED_KEY)
    ours = (noted[1] if noted is not None and noted[0] is session.get_transaction()
            and noted[2] == committed else None)
    if state.counted_on != today() or state.counts_version not in (committed, ours):
        return None, committed
    return state, committed


def recount_for(enterprise_ids: list[int]) -> bool:
    """Recount these firms' own contributions in this transaction (their cost, not their
    zones'): the difference with their stored marks is added to the figures.

    Only while the figures are current: if some earlier counted change was not recounted (or
    the day changed) they stay stale and a full refresh is asked for after the commit.
    Returns whether the figures are current afterwards.
    """
    state, committed = locked_current_state()
    if state is None:
        if committed is not None:  # built, but some counted change was not recounted
            request_refresh()
        return False
    ids = sorted(set(enterprise_ids))
    if ids:
        recount_marks(ids, today())
    # these firms' ledger changes noted so far are in the marks just counted
    ledger_changes.noted().difference_update(ids)
    session = db.session()
    # this commit adds one (and another commit first makes it another number: stale, safe)
    snapshots.bump()
    state.counts_version, state.updated_at = committed + 1, now_utc()
    session.info[_RECOUNTED_KEY] = (session.get_transaction(), committed + 1, committed)
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


def zone_rows(user: Any) -> ColumnElement[bool] | None:
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
    return zone_rows(user) is not None and current_state() is not None


def updated_at(user: Any) -> datetime | None:
    """When the figures this user reads were last recounted (None: not read from here)."""
    state = current_state() if zone_rows(user) is not None else None
    return state.updated_at if state is not None else None


def read(user: Any, measure: str) -> dict[tuple[str | None, str | None, str | None], int] | None:
    """(zone, key, sub) -> value in the user's scope; None when the straightforward query
    must answer (a scope that is not a sum of zones, or figures not current)."""
    if not usable(user):
        return None
    query = select(DashboardAggregate.zone, DashboardAggregate.key, DashboardAggregate.sub,
                   DashboardAggregate.value).where(DashboardAggregate.measure == measure,
                                                   zone_rows(user))
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


def applications(user: Any) -> dict[str, int] | None:
    """Active firms in scope with an application in each status (statuses without any left
    out), or None (see read)."""
    found = sums(user, "applications")
    return None if found is None else {key: n for (key, _s), n in found.items() if n}


def expiring(user: Any) -> dict[str, int] | None:
    """Firms in scope with a title valid today ending in each month shown ('YYYY-MM' -> n,
    months without any left out), or None (see read)."""
    found = sums(user, "expiring")
    return None if found is None else {key: n for (key, _s), n in found.items() if n}
