"""The reminders sweep with the same due rows at every size (issue 12: at 500k firms at most 2×
its time at 10k, under 300 MB).

On a generated database, inside one transaction that is rolled back at the end:

  1. settle   a sweep of the day (not timed): the ledger holds everything already due
  2. make due K firms (the lowest ids that qualify) whose stored verdict for their next rung was
              not eligible get an eligible one holding today (newly eligible: one officer each),
              and K open applications get a deadline seven days on (application deadline:
              owner, officer and contacts); nothing else changes
  3. sweep    timed: what it inserts is what step 2 made due, the same K at every size

So the larger register differs only in what is not due (more firms, more settled reminders,
more eligible firms already reminded this year): exactly what the sweep must not pay for.
Prints one JSON line: seconds, inserted rows, peak RSS of the process (MB).

`BENCH_ROOT` runs another checkout's code against the database (before/after figures):
  python bench/sweep_due.py --url postgresql://…/bench_10k --k 100
A benchmark, not a timed test.
"""

from __future__ import annotations

import argparse
import json
import os
import resource
import sys
import time
from datetime import date, timedelta
from pathlib import Path

ROOT = Path(os.environ.get("BENCH_ROOT") or Path(__file__).resolve().parent.parent)
sys.path.insert(0, str(Path(__file__).resolve().parent.parent))
from bench import app_for  # noqa: E402 - this tree's, whichever tree is measured

sys.path.insert(0, str(ROOT))

#: firms made newly eligible, and applications given a deadline, in step 2
DEFAULT_K = 100


def make_due(day: date, k: int) -> dict[str, int]:
    """Step 2: K newly eligible firms and K application deadlines, in SQL (no ORM objects)."""
    from sqlalchemy import String, case, exists, literal, null, or_, select, update

    from tracker.accounts.models import User
    from tracker.enterprises.models import Enterprise
    from tracker.extensions import db
    from tracker.ladder.models import Application, EligibilityResult, Qualification
    from tracker.ladder.rules import KINDS
    from tracker.reminders.models import Reminder

    r, e, q, a = EligibilityResult, Enterprise, Qualification, Application
    order = list(KINDS)
    next_rung = case(*[(e.current_rung == kind, order[i + 1])
                       for i, kind in enumerate(order[:-1])],
                     (e.current_rung == order[-1], null()), else_=order[0])
    officer_active = exists().where(User.id == e.officer_id, User.active.is_(True))
    title_valid = exists().where(
        q.enterprise_id == e.id, q.kind == r.kind, q.granted_on <= day,
        or_(q.valid_until.is_(None), q.valid_until >= day),
        or_(q.revoked_on.is_(None), q.revoked_on > day))
    reminded = exists().where(
        Reminder.subject_type == "enterprise", Reminder.subject_id == e.id,
        Reminder.occurrence_on == date(day.year, 1, 1),
        Reminder.occurrence_tag == literal("rung:", String) + r.kind)
    ids = list(db.session.scalars(
        select(r.id).join(e, e.id == r.enterprise_id)
        .where(r.kind == next_rung, r.verdict != "eligible", e.status == "active",
               e.eligibility_stale_since.is_(None), officer_active, ~title_valid, ~reminded)
        .order_by(r.enterprise_id).limit(k)))
    db.session.execute(update(r).where(r.id.in_(ids)).values(
        verdict="eligible", as_of=day, valid_through=day))
    deadline = day + timedelta(days=7)
    apps = list(db.session.scalars(
        select(a.id).join(e, e.id == a.enterprise_id)
        .where(a.status.in_(("planned", "preparing")), e.status == "active",
               or_(a.deadline.is_(None), a.deadline != deadline))
        .order_by(a.id).limit(k)))
    db.session.execute(update(a).where(a.id.in_(apps)).values(deadline=deadline))
    return {"made_eligible": len(ids), "made_deadlines": len(apps)}


def reset_peak_rss() -> None:
    """Linux: start the process's peak RSS (VmHWM) afresh, so the timed sweep's own peak is
    read without the settling sweep's."""
    try:
        with open("/proc/self/clear_refs", "w") as handle:
            handle.write("5")
    except OSError:
        pass


def peak_rss_mb() -> float:
    """VmHWM (since the last reset) in MB; the process's lifetime peak where /proc is absent."""
    try:
        with open("/proc/self/status") as handle:
            for line in handle:
                if line.startswith("VmHWM:"):
                    return round(int(line.split()[1]) / 1024, 1)
    except OSError:
        pass
    return round(resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024, 1)


def measure(k: int = DEFAULT_K, day: date | None = None) -> dict[str, float]:
    """Steps 1-3 inside the app context; rolls everything back."""
    from sqlalchemy import func, select

    from tracker.clock import today
    from tracker.enterprises.models import Enterprise
    from tracker.extensions import db
    from tracker.reminders.sweep import run_sweep

    day = day or today()
    answer: dict[str, float] = {"firms": db.session.scalar(select(func.count(Enterprise.id))),
                                "k": k}
    started = time.perf_counter()
    answer["settled"] = sum(run_sweep(day).values())
    answer["settle_seconds"] = round(time.perf_counter() - started, 2)
    answer.update(make_due(day, k))
    db.session.flush()
    reset_peak_rss()
    started = time.perf_counter()
    inserted = run_sweep(day)
    answer["seconds"] = round(time.perf_counter() - started, 3)
    answer["sweep_peak_rss_mb"] = peak_rss_mb()
    answer["inserted"] = sum(inserted.values())
    answer["inserted_by_rule"] = {code: n for code, n in inserted.items() if n}
    db.session.rollback()  # the database stays as generated
    return answer


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--url", required=True)
    parser.add_argument("--k", type=int, default=DEFAULT_K)
    args = parser.parse_args()
    app = app_for(args.url)
    with app.app_context():
        answer = measure(args.k)
    answer["peak_rss_mb"] = round(resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024, 1)
    print(json.dumps(answer))


if __name__ == "__main__":
    main()
