"""The reminders sweep with the same due rows at every size (issue 12: at 500k firms at most 2×
its time at 10k, under 300 MB).

The scheduled sweep (beat, every five minutes) does the day's full pass once, then passes only
over the firms marked since (tracker.reminders.incremental). On a generated database, inside
one transaction that is rolled back at the end:

  1. settle   the scheduled sweep's first pass of the day (not timed): a full pass, so the
              ledger holds everything already due and the day's full pass is done; then one
              marked pass over a firm with nothing new (warm statement cache, as in a worker)
  2. make due K firms (the lowest ids that qualify) whose stored verdict for their next rung was
              not eligible get an eligible one holding today (newly eligible: one officer each),
              and K open applications get a deadline seven days on (application deadline:
              owner, officer and contacts); nothing else changes. The firms are marked by the
              product's own hooks: the recompute's (results.RESULTS_FRESH) for the verdicts,
              the after-save pipeline's bulk stage (changes._sweep_bulk) for the applications
  3. full     timed, in a savepoint rolled back: run_sweep(day) over every firm, what every
              five-minute sweep cost before (now the once-a-day pass)
  4. sweep    timed: the scheduled sweep, a marked pass; it must insert what step 3 did

So the larger register differs only in what is not due (more firms, more settled reminders,
more eligible firms already reminded this year): exactly what the sweep must not pay for.
Prints one JSON line: seconds of both, inserted rows, peak RSS of the scheduled sweep (MB).
`--compare URL…` prints the full pass and the scheduled sweep of several databases side by side.

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


def make_due(day: date, k: int) -> dict[str, list[int]]:
    """Step 2: K newly eligible firms and K application deadlines, in SQL (no ORM objects);
    returns the firms of each."""
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
    rows = db.session.execute(
        select(r.id, r.enterprise_id).join(e, e.id == r.enterprise_id)
        .where(r.kind == next_rung, r.verdict != "eligible", e.status == "active",
               e.eligibility_stale_since.is_(None), officer_active, ~title_valid, ~reminded)
        .order_by(r.enterprise_id).limit(k)).all()
    ids = [row.id for row in rows]
    db.session.execute(update(r).where(r.id.in_(ids)).values(
        verdict="eligible", as_of=day, valid_through=day))
    deadline = day + timedelta(days=7)
    app_rows = db.session.execute(
        select(a.id, a.enterprise_id).join(e, e.id == a.enterprise_id)
        .where(a.status.in_(("planned", "preparing")), e.status == "active",
               or_(a.deadline.is_(None), a.deadline != deadline))
        .order_by(a.id).limit(k)).all()
    apps = [row.id for row in app_rows]
    db.session.execute(update(a).where(a.id.in_(apps)).values(deadline=deadline))
    return {"eligible_firms": sorted({row.enterprise_id for row in rows}),
            "deadline_firms": sorted({row.enterprise_id for row in app_rows})}


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


def mark_as_the_product_does(made: dict[str, list[int]]) -> None:
    """The firms of step 2 marked by the hooks the product itself runs: a worker's recompute
    storing new verdicts (results.RESULTS_FRESH) and a bulk save (the pipeline's bulk stage)."""
    from tracker import changes
    from tracker.ladder import results

    for follow in results.RESULTS_FRESH:
        follow(made["eligible_firms"])
    changes._sweep_bulk(made["deadline_firms"])


def measure(k: int = DEFAULT_K, day: date | None = None) -> dict[str, float]:
    """Steps 1-4 inside the app context; rolls everything back."""
    from sqlalchemy import func, select

    from tracker.clock import today
    from tracker.enterprises.models import Enterprise
    from tracker.extensions import db
    from tracker.reminders.incremental import scheduled_sweep
    from tracker.reminders.sweep import run_sweep

    day = day or today()
    answer: dict[str, float] = {"firms": db.session.scalar(select(func.count(Enterprise.id))),
                                "k": k}
    started = time.perf_counter()
    first = scheduled_sweep(day)
    answer["settled"] = sum(first["inserted"].values())
    answer["settle_pass"] = first["pass"]
    answer["settle_seconds"] = round(time.perf_counter() - started, 2)
    # warm: a marked pass over one firm with nothing new, so both timed passes run with the
    # compiled statements cached, as in a worker that has swept before
    from tracker import changes

    changes._sweep_bulk([db.session.scalar(select(func.min(Enterprise.id)))])
    scheduled_sweep(day)
    made = make_due(day, k)
    answer["made_eligible"] = len(made["eligible_firms"])
    answer["made_deadlines"] = len(made["deadline_firms"])
    mark_as_the_product_does(made)
    db.session.flush()
    savepoint = db.session.begin_nested()
    started = time.perf_counter()
    full = run_sweep(day)
    answer["full_seconds"] = round(time.perf_counter() - started, 3)
    answer["full_inserted"] = sum(full.values())
    savepoint.rollback()
    reset_peak_rss()
    started = time.perf_counter()
    swept = scheduled_sweep(day)
    answer["seconds"] = round(time.perf_counter() - started, 3)
    answer["sweep_peak_rss_mb"] = peak_rss_mb()
    answer["pass"] = swept["pass"]
    answer["marked_firms"] = swept["firms"]
    answer["inserted"] = sum(swept["inserted"].values())
    answer["inserted_by_rule"] = {code: n for code, n in swept["inserted"].items() if n}
    db.session.rollback()  # the database stays as generated
    return answer


def run_one(url: str, k: int) -> dict[str, float]:
    app = app_for(url)
    with app.app_context():
        answer = measure(k)
        from tracker.extensions import db

        db.session.remove()
        db.engine.dispose()
    return answer


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--url")
    parser.add_argument("--compare", nargs="+", metavar="URL")
    parser.add_argument("--k", type=int, default=DEFAULT_K)
    args = parser.parse_args()
    if not args.compare:
        if not args.url:
            parser.error("--url or --compare")
        answer = run_one(args.url, args.k)
        answer["peak_rss_mb"] = round(resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024,
                                      1)
        print(json.dumps(answer))
        return
    rows = [run_one(url, args.k) for url in args.compare]
    print(f"{'firms':>8} {'K':>4} {'full pass (old 5-min) s':>24} {'scheduled (new) s':>18} "
          f"{'inserted full/new':>18} {'peak RSS MB':>12}")
    for row in rows:
        print(f"{row['firms']:>8} {row['k']:>4} {row['full_seconds']:>24} {row['seconds']:>18} "
              f"{row['full_inserted']:>8}/{row['inserted']:<9} {row['sweep_peak_rss_mb']:>12}")
    print(json.dumps(rows))


if __name__ == "__main__":
    main()
