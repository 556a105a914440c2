"""Invariants of the stored picture: each a small function returning rows checked and violations.

The checker reads, never writes. Each invariant is set-based SQL where the rule can be said in
SQL; where the rule belongs to the ladder (which rung a set of titles gives on a day), the rows
are streamed in firm order and the ladder's own function decides, so the rule is never written
twice. The CLI (`flask check`), the nightly task and the tests all call `run_checks`.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable, Iterator
from dataclasses import dataclass, field
from datetime import date, datetime, timedelta
from itertools import groupby
from typing import Any

from flask import current_app
from sqlalchemy import and_, case, func, literal, or_, select, union_all
from sqlalchemy.orm import aliased

from tracker.clock import now_utc, today
from tracker.enterprises.models import AnnualMetrics, Enterprise
from tracker.enterprises.zones import ZONES
from tracker.extensions import db
from tracker.imports.models import ImportJob
from tracker.incubation.models import Tenancy
from tracker.ladder import validity
from tracker.ladder.models import EligibilityResult, Qualification, StageTransition
from tracker.reminders.models import Reminder

#: a job queued or running longer than this (seconds) is stuck, unless JOB_STUCK_SECONDS says
DEFAULT_JOB_STUCK_SECONDS = 3600
#: the reminders package sets REMINDER_STUCK_SECONDS; this only covers an app without it
DEFAULT_REMINDER_STUCK_SECONDS = 600
#: rows read per round trip when rows must be streamed through Python
STREAM_CHUNK = 5000


@dataclass(frozen=True)
class Violation:
    invariant: str
    #: "<kind>:<id>", e.g. "enterprise:42", so the admin page can link to it
    subject: str
    detail: str

    def as_dict(self) -> dict[str, str]:
        return {"invariant": self.invariant, "subject": self.subject, "detail": self.detail}


@dataclass
class Outcome:
    """What one invariant looked at and what it found wrong."""

    checked: int
    violations: list[Violation] = field(default_factory=list)


@dataclass
class Report:
    checked: dict[str, int]
    violations: list[Violation]

    @property
    def ok(self) -> bool:
        return not self.violations

    def as_dict(self) -> dict[str, Any]:
        """The `flask check --json` contract, exactly."""
        return {"ok": self.ok, "checked": dict(self.checked),
                "violations": [v.as_dict() for v in self.violations]}


@dataclass(frozen=True)
class Context:
    """The moment the check runs: invariants judge against the same clock."""

    now: datetime
    day: date


Invariant = Callable[[Context], Outcome]
#: name -> function, in the order they run and are reported
INVARIANTS: dict[str, Invariant] = {}


def invariant(name: str) -> Callable[[Invariant], Invariant]:
    def register(func_: Invariant) -> Invariant:
        INVARIANTS[name] = func_
        return func_
    return register


#: invariants left out of the default run while the drift they report is being fixed on another
#: branch; name -> why. The lead removes an entry when the fix is merged.
EXCLUDED: dict[str, str] = {}


def default_invariants() -> list[str]:
    return [name for name in INVARIANTS if name not in EXCLUDED]


def run_checks(names: Iterable[str] | None = None, *, now: datetime | None = None) -> Report:
    """Run the named invariants (all not EXCLUDED by default) against the database now."""
    ctx = Context(now=now or now_utc(), day=today())
    checked: dict[str, int] = {}
    violations: list[Violation] = []
    for name in names or default_invariants():
        outcome = INVARIANTS[name](ctx)
        checked[name] = outcome.checked
        violations += outcome.violations
    return Report(checked, violations)


def _count(query) -> int:
    return db.session.scalar(select(func.count()).select_from(query.subquery())) or 0


def _stream(query) -> Iterator[Any]:
    return iter(db.session.execute(query.execution_options(yield_per=STREAM_CHUNK)))


# ---------------------------------------------------------------------------------------------
# The ladder
# ---------------------------------------------------------------------------------------------


class _Held:
    """A qualification's dates without the ORM object, judged by the model's own status_on."""

    __slots__ = ("enterprise_id", "kind", "granted_on", "valid_until", "revoked_on")
    status_on = Qualification.status_on

    def __init__(self, enterprise_id: int, kind: str, granted_on: date,
                 valid_until: date | None, revoked_on: date | None) -> None:
        self.enterprise_id, self.kind, self.granted_on = enterprise_id, kind, granted_on
        self.valid_until, self.revoked_on = valid_until, revoked_on


def _held_by_firm() -> Iterator[tuple[int, list[_Held]]]:
    """Every firm's qualifications, one firm at a time, in firm-id order (streamed)."""
    rows = _stream(select(Qualification.enterprise_id, Qualification.kind,
                          Qualification.granted_on, Qualification.valid_until,
                          Qualification.revoked_on)
                   .order_by(Qualification.enterprise_id, Qualification.id))
    for enterprise_id, group in groupby(rows, key=lambda r: r[0]):
        yield enterprise_id, [_Held(*r) for r in group]


def _merge_by_firm(firms: Iterator[Any], held: Iterator[tuple[int, list[_Held]]]
                   ) -> Iterator[tuple[Any, list[_Held]]]:
    """Pair each firm row (id first) with its qualifications; both streams ordered by id."""
    pending = next(held, None)
    for firm in firms:
        while pending is not None and pending[0] < firm[0]:
            pending = next(held, None)
        if pending is not None and pending[0] == firm[0]:
            yield firm, pending[1]
        else:
            yield firm, []


@invariant("rung_matches_qualifications")
def rung_matches_qualifications(ctx: Context) -> Outcome:
    """The cached rung of every active firm is the rung its qualifications give today.

    Archived firms are left out: the nightly refresh keeps only active firms' rungs current.
    """
    firms = _stream(select(Enterprise.id, Enterprise.current_rung)
                    .where(Enterprise.status == "active").order_by(Enterprise.id))
    checked, found = 0, []
    for (enterprise_id, stored), held in _merge_by_firm(firms, _held_by_firm()):
        checked += 1
        derived = validity.rung_on(held, ctx.day)
        if derived != stored:
            found.append(Violation(
                "rung_matches_qualifications", f"enterprise:{enterprise_id}",
                f"stored rung {stored or '-'}, valid qualifications on {ctx.day} give "
                f"{derived or '-'}"))
    return Outcome(checked, found)


def derived_ladder_history(held: list[_Held], day: date) -> list[tuple[date, str | None]]:
    """(date, rung) each time the rung given by the titles changed, up to `day` inclusive.

    Change can only happen on a grant, the day after a validity ends, or a revocation.
    """
    points = validity.title_change_days(held)
    history: list[tuple[date, str | None]] = []
    rung: str | None = None
    for point in sorted(p for p in points if p <= day):
        new = validity.rung_on(held, point)
        if new != rung:
            history.append((point, new))
            rung = new
    return history


@invariant("ladder_history_matches_qualifications")
def ladder_history_matches_qualifications(ctx: Context) -> Outcome:
    """The recorded ladder moves are the moves the titles' own dates give (effective-dated).

    A title entered late (backdated) or revoked as a mistake must rewrite the history, not
    append a move dated by when it was typed.
    """
    transitions = _stream(
        select(StageTransition.enterprise_id, StageTransition.effective_on,
               StageTransition.to_stage)
        .where(StageTransition.chain == "ladder")
        .order_by(StageTransition.enterprise_id, StageTransition.effective_on,
                  StageTransition.id))
    stored: Iterator[tuple[int, list[Any]]] = (
        (k, list(g)) for k, g in groupby(transitions, key=lambda r: r[0]))
    firms = _stream(select(Enterprise.id).where(Enterprise.status == "active")
                    .order_by(Enterprise.id))
    checked, found = 0, []
    pending = next(stored, None)
    for (enterprise_id,), held in _merge_by_firm(firms, _held_by_firm()):
        while pending is not None and pending[0] < enterprise_id:
            pending = next(stored, None)
        rows = pending[1] if pending is not None and pending[0] == enterprise_id else []
        checked += 1
        recorded: dict[date, str | None] = {}
        for _id, on, to_stage in rows:  # several moves on one day: the last one holds
            recorded[on] = to_stage
        recorded_history = []
        for on, to_stage in sorted(recorded.items()):
            if not recorded_history or recorded_history[-1][1] != to_stage:
                recorded_history.append((on, to_stage))
        derived = derived_ladder_history(held, ctx.day)
        if recorded_history != derived:
            found.append(Violation(
                "ladder_history_matches_qualifications", f"enterprise:{enterprise_id}",
                f"recorded {_history_text(recorded_history)}; the titles give "
                f"{_history_text(derived)}"))
    return Outcome(checked, found)


def _history_text(history: list[tuple[date, str | None]]) -> str:
    return ", ".join(f"{on} {rung or '-'}" for on, rung in history) or "no moves"


@invariant("transitions_ordered")
def transitions_ordered(ctx: Context) -> Outcome:
    """Ordered by effective date, each move leaves the stage the one before entered.

    Per firm on the ladder chain, per tenancy on the incubation chain (a firm may incubate at
    several carriers over the years, each tenancy its own run of moves). A move that claims to
    leave a stage the firm was not in at that date is an overlap or an out-of-order insert; a
    ladder move dated in the future has not happened (an approved exit may be dated ahead).
    """
    # Ladder moves carry the tenancy of nothing; incubation runs are one tenancy each.
    run_key = case((StageTransition.chain == "ladder", 0),
                   else_=func.coalesce(StageTransition.tenancy_id, 0))
    query = (select(StageTransition.id, StageTransition.enterprise_id, StageTransition.chain,
                    StageTransition.tenancy_id, StageTransition.from_stage,
                    StageTransition.to_stage, StageTransition.effective_on)
             .order_by(StageTransition.enterprise_id, StageTransition.chain, run_key,
                       StageTransition.effective_on, StageTransition.id))
    checked, found = 0, []
    key = None
    previous = None
    for row in _stream(query):
        checked += 1
        transition_id, enterprise_id, chain, tenancy_id, from_stage, to_stage, on = row
        run = (enterprise_id, chain, tenancy_id if chain != "ladder" else None)
        subject = f"enterprise:{enterprise_id}"
        if chain != "ladder" and tenancy_id is None:
            # every incubation move is made for a stay; one without is left from a deleted stay
            found.append(Violation("transitions_ordered", subject,
                                   f"{chain} move #{transition_id} ({on}, to {to_stage or '-'}) "
                                   "belongs to no stay"))
            continue
        if on > ctx.day and chain == "ladder":  # (an approved exit may be dated ahead)
            found.append(Violation("transitions_ordered", subject,
                                   f"{chain} move #{transition_id} dated {on}, after today"))
        if run != key:
            key, previous = run, None
            if chain == "ladder" and from_stage is not None:
                found.append(Violation(
                    "transitions_ordered", subject,
                    f"first ladder move #{transition_id} ({on}) leaves {from_stage}, "
                    "a rung the firm never entered"))
        if previous is not None and previous[1] != from_stage:
            found.append(Violation(
                "transitions_ordered", subject,
                f"{chain} move #{transition_id} ({on}) leaves {from_stage or '-'} but the "
                f"move before it (#{previous[0]}, {previous[2]}) entered {previous[1] or '-'}"))
        previous = (transition_id, to_stage, on)
    # The last ladder move must land on the rung the firm shows.
    last = (select(StageTransition.enterprise_id, StageTransition.to_stage,
                   func.row_number().over(
                       partition_by=StageTransition.enterprise_id,
                       order_by=(StageTransition.effective_on.desc(),
                                 StageTransition.id.desc())).label("n"))
            .where(StageTransition.chain == "ladder").subquery())
    mismatched = db.session.execute(
        select(Enterprise.id, Enterprise.current_rung, last.c.to_stage)
        .join(last, and_(last.c.enterprise_id == Enterprise.id, last.c.n == 1), isouter=True)
        .where(Enterprise.status == "active",
               or_(and_(last.c.enterprise_id.is_(None), Enterprise.current_rung.is_not(None)),
                   and_(last.c.enterprise_id.is_not(None),
                        func.coalesce(last.c.to_stage, "") !=
                        func.coalesce(Enterprise.current_rung, ""))))
        .order_by(Enterprise.id))
    for enterprise_id, rung, to_stage in mismatched:
        found.append(Violation(
            "transitions_ordered", f"enterprise:{enterprise_id}",
            f"ladder history ends on {to_stage or '-'} but the firm shows {rung or '-'}"))
    return Outcome(checked, found)


# ---------------------------------------------------------------------------------------------
# Eligibility results
# ---------------------------------------------------------------------------------------------


@invariant("eligibility_fresh")
def eligibility_fresh(ctx: Context) -> Outcome:
    """Stored results are at least as new as every fact they read, or the firm is marked stale.

    Facts are what ladder/facts.py builds the engine's input from: the enterprise row, its
    annual figures and its qualifications. Tenancies are not read by the ladder rules, so a
    tenancy change cannot make a result stale (and the incubation services rightly do not ask
    for a recompute). An active firm with no stored result at all is as stale as one with old
    results.
    """
    facts = union_all(
        select(Enterprise.id.label("enterprise_id"), Enterprise.updated_at.label("at"),
               literal("enterprise").label("fact")),
        select(AnnualMetrics.enterprise_id, AnnualMetrics.updated_at, literal("metrics")),
        select(Qualification.enterprise_id, Qualification.updated_at,
               literal("qualification")),
    ).subquery()
    results = (select(EligibilityResult.enterprise_id,
                      func.min(EligibilityResult.computed_at).label("computed_at"))
               .group_by(EligibilityResult.enterprise_id).subquery())
    fresh = Enterprise.eligibility_stale_since.is_(None)
    older = db.session.execute(
        select(facts.c.enterprise_id, facts.c.fact, func.max(facts.c.at),
               results.c.computed_at)
        .join(results, results.c.enterprise_id == facts.c.enterprise_id)
        .join(Enterprise, Enterprise.id == facts.c.enterprise_id)
        .where(fresh, facts.c.at > results.c.computed_at)
        .group_by(facts.c.enterprise_id, facts.c.fact, results.c.computed_at)
        .order_by(facts.c.enterprise_id, facts.c.fact))
    found = [Violation("eligibility_fresh", f"enterprise:{enterprise_id}",
                       f"{fact} changed at {_iso(at)}, results computed at {_iso(computed)} "
                       "and the firm is not marked stale")
             for enterprise_id, fact, at, computed in older]
    missing = db.session.scalars(
        select(Enterprise.id).where(
            fresh, Enterprise.status == "active",
            ~select(EligibilityResult.id)
            .where(EligibilityResult.enterprise_id == Enterprise.id).exists())
        .order_by(Enterprise.id))
    found += [Violation("eligibility_fresh", f"enterprise:{enterprise_id}",
                        "no stored eligibility results and the firm is not marked stale")
              for enterprise_id in missing]
    checked = db.session.scalar(select(func.count(Enterprise.id))) or 0
    return Outcome(checked, found)


def _iso(value: datetime | str | None) -> str:
    return value.isoformat(timespec="seconds") if isinstance(value, datetime) else str(value)


# ---------------------------------------------------------------------------------------------
# Tenancies
# ---------------------------------------------------------------------------------------------

#: an open tenancy runs until further notice
_OPEN_END = date(9999, 12, 31)


@invariant("tenancies_disjoint")
def tenancies_disjoint(ctx: Context) -> Outcome:
    """A firm is in at most one carrier on any day (the day a tenancy ends, the next may begin)."""
    a, b = aliased(Tenancy), aliased(Tenancy)
    a_end = func.coalesce(a.ended_on, _OPEN_END)
    b_end = func.coalesce(b.ended_on, _OPEN_END)
    rows = db.session.execute(
        select(a.enterprise_id, a.id, a.moved_in_on, a.ended_on, b.id, b.moved_in_on, b.ended_on)
        .join(b, and_(b.enterprise_id == a.enterprise_id, b.id > a.id))
        .where(a.moved_in_on < b_end, b.moved_in_on < a_end)
        .order_by(a.enterprise_id, a.id, b.id))
    found = [Violation("tenancies_disjoint", f"enterprise:{enterprise_id}",
                       f"tenancy #{a_id} ({a_in} – {a_out or '…'}) overlaps tenancy #{b_id} "
                       f"({b_in} – {b_out or '…'})")
             for enterprise_id, a_id, a_in, a_out, b_id, b_in, b_out in rows]
    checked = db.session.scalar(select(func.count(Tenancy.id))) or 0
    return Outcome(checked, found)


@invariant("tenancy_moves_recorded")
def tenancy_moves_recorded(ctx: Context) -> Outcome:
    """Every tenancy has its move-in on the incubation chain, and every ended one its move out.

    Graduated or exited: a move to that status dated the end day. Moved on: a next tenancy that
    continues it (its move-in records the move).
    """
    moves = StageTransition.__table__
    opened = (select(moves.c.id).where(moves.c.tenancy_id == Tenancy.id,
                                       moves.c.chain == "incubation",
                                       moves.c.effective_on == Tenancy.moved_in_on).exists())
    closed = (select(moves.c.id).where(moves.c.tenancy_id == Tenancy.id,
                                       moves.c.chain == "incubation",
                                       moves.c.to_stage == Tenancy.status,
                                       moves.c.effective_on == Tenancy.ended_on).exists())
    following = aliased(Tenancy)
    continued = select(following.id).where(following.previous_tenancy_id == Tenancy.id).exists()
    rows = db.session.execute(
        select(Tenancy.enterprise_id, Tenancy.id, Tenancy.status, Tenancy.ended_on,
               opened.label("opened"))
        .where(or_(~opened,
                   and_(Tenancy.status.in_(("graduated", "exited")), ~closed),
                   and_(Tenancy.status == "moved_on", ~continued)))
        .order_by(Tenancy.enterprise_id, Tenancy.id))
    found = []
    for enterprise_id, tenancy_id, status, ended_on, has_opening in rows:
        detail = (f"tenancy #{tenancy_id} has no move-in on the incubation chain"
                  if not has_opening else
                  f"tenancy #{tenancy_id} is {status} since {ended_on or '?'} but no move out "
                  "is recorded")
        found.append(Violation("tenancy_moves_recorded", f"enterprise:{enterprise_id}", detail))
    checked = db.session.scalar(select(func.count(Tenancy.id))) or 0
    return Outcome(checked, found)


# ---------------------------------------------------------------------------------------------
# Background work
# ---------------------------------------------------------------------------------------------


def _seconds(name: str, default: int) -> int:
    return int(current_app.config.get(name, default))


@invariant("reminders_not_stuck")
def reminders_not_stuck(ctx: Context) -> Outcome:
    """No reminder sits in `sending` longer than REMINDER_STUCK_SECONDS (the reaper's limit)."""
    limit = _seconds("REMINDER_STUCK_SECONDS", DEFAULT_REMINDER_STUCK_SECONDS)
    before = ctx.now - timedelta(seconds=limit)
    sending = Reminder.status == "sending"
    rows = db.session.execute(
        select(Reminder.id, Reminder.claimed_at)
        .where(sending, or_(Reminder.claimed_at.is_(None), Reminder.claimed_at < before))
        .order_by(Reminder.id))
    found = [Violation("reminders_not_stuck", f"reminder:{reminder_id}",
                       f"sending since {_iso(claimed) if claimed else 'an unknown time'}, "
                       f"longer than {limit} s")
             for reminder_id, claimed in rows]
    checked = db.session.scalar(select(func.count(Reminder.id)).where(sending)) or 0
    return Outcome(checked, found)


def _job_started_column():
    """When the job last showed life: a heartbeat or start time where the model has one."""
    for name in ("heartbeat_at", "started_at"):
        column = getattr(ImportJob, name, None)
        if column is not None:
            return func.coalesce(column, ImportJob.created_at)
    return ImportJob.created_at


@invariant("jobs_not_stuck")
def jobs_not_stuck(ctx: Context) -> Outcome:
    """No import job stays queued or running longer than JOB_STUCK_SECONDS."""
    limit = _seconds("JOB_STUCK_SECONDS", DEFAULT_JOB_STUCK_SECONDS)
    before = ctx.now - timedelta(seconds=limit)
    active = ImportJob.status.in_(("queued", "running"))
    since = _job_started_column()
    rows = db.session.execute(select(ImportJob.id, ImportJob.status, since)
                              .where(active, since < before).order_by(ImportJob.id))
    found = [Violation("jobs_not_stuck", f"import_job:{job_id}",
                       f"{status} since {_iso(at)}, longer than {limit} s")
             for job_id, status, at in rows]
    checked = db.session.scalar(select(func.count(ImportJob.id)).where(active)) or 0
    return Outcome(checked, found)


# ---------------------------------------------------------------------------------------------
# Enterprises
# ---------------------------------------------------------------------------------------------


@invariant("enterprise_in_zone")
def enterprise_in_zone(ctx: Context) -> Outcome:
    """Every firm belongs to one of the Binhai sub-areas (zones.ZONES)."""
    rows = db.session.execute(
        select(Enterprise.id, Enterprise.zone)
        .where(or_(Enterprise.zone.is_(None), Enterprise.zone.not_in(list(ZONES))))
        .order_by(Enterprise.id))
    found = [Violation("enterprise_in_zone", f"enterprise:{enterprise_id}",
                       f"zone {zone!r} is none of {', '.join(ZONES)}")
             for enterprise_id, zone in rows]
    checked = db.session.scalar(select(func.count(Enterprise.id))) or 0
    return Outcome(checked, found)
