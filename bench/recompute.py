"""The nightly recompute against the pure rules engine, side by side on one generated database.

Issue 12 (Nightly recompute): a second run with no change costs at most 5% of the first, stored
results take at most 300 bytes per firm and kind, and a full run reaches at least half the pure
`evaluate` throughput over the same facts. One run prints, on the same database:

  evaluate     the engine alone over facts built beforehand (not timed), firms/s
  first run    every firm's inputs changed (stored digests cleared), rungs and results
  second run   the same run again, nothing changed in between
  next day     the run of the next night (the clock moved one day), nothing changed
  ratios       first run ÷ evaluate throughput, second ÷ first, next day ÷ first
  bytes        stored bytes per firm and kind (the JSON columns, and the whole row)

The database is a URL (SQLite file or PostgreSQL); generate it first with
`flask --app tracker demo generate --firms N`. `BENCH_ROOT` runs another checkout's code
against it (for before/after figures). Run: `python bench/recompute.py sqlite:///path.db`.
A benchmark, not a timed test; it rewrites the database's stored results.
"""

from __future__ import annotations

import argparse
import contextlib
import json
import os
import resource
import sys
import time
from pathlib import Path

ROOT = Path(os.environ.get("BENCH_ROOT") or Path(__file__).resolve().parent.parent)
sys.path.insert(0, str(Path(__file__).resolve().parent.parent))
from bench import app_for  # noqa: E402 - this tree's, whichever tree is measured

sys.path.insert(0, str(ROOT))


def _app(url: str):
    return app_for(url)


def _facts_for_all(ids: list[int]) -> list[dict]:
    """Every firm's facts, built in chunks with the product's own builder (not timed)."""
    from sqlalchemy import select

    from tracker.clock import today
    from tracker.enterprises.models import AnnualMetrics, Enterprise
    from tracker.extensions import db
    from tracker.ladder.facts import build_facts
    from tracker.ladder.services import qualifications_by_enterprise

    day, out = today(), []
    for start in range(0, len(ids), 1000):
        part = ids[start:start + 1000]
        metrics: dict[int, list] = {i: [] for i in part}
        for m in db.session.scalars(select(AnnualMetrics)
                                    .where(AnnualMetrics.enterprise_id.in_(part))):
            metrics[m.enterprise_id].append(m)
        quals = qualifications_by_enterprise(part)
        for firm in db.session.scalars(select(Enterprise).where(Enterprise.id.in_(part))):
            out.append(build_facts(firm, day, metrics=metrics[firm.id],
                                   qualifications=quals[firm.id]))
        db.session.expunge_all()
    return out


def _stored_bytes() -> dict[str, float]:
    """Average stored bytes per result row: the JSON columns, and the whole row."""
    from sqlalchemy import text

    from tracker.extensions import db

    if db.engine.dialect.name == "postgresql":
        json_sql = ("avg(coalesce(pg_column_size(result), 0)"
                    " + coalesce(pg_column_size(near_miss), 0))")
        row_sql = "avg(pg_column_size(t.*))"
    else:
        json_sql = "avg(coalesce(length(result), 0) + coalesce(length(near_miss), 0))"
        cols = [c.name for c in db.metadata.tables["eligibility_results"].columns]
        row_sql = "avg(" + " + ".join(f"coalesce(length(CAST({c} AS BLOB)), 0)"
                                      for c in cols) + ")"
    json_avg, row_avg = db.session.execute(
        text(f"SELECT {json_sql}, {row_sql} FROM eligibility_results t")).one()
    return {"json_bytes": round(float(json_avg or 0), 1),
            "row_bytes": round(float(row_avg or 0), 1)}


def _run_all() -> int:
    """The nightly run done inline in this process (what the CLI does)."""
    from tracker.ladder import tasks

    inline = getattr(tasks, "recompute_all_inline", None)
    return inline() if inline is not None else tasks.recompute_all()


def _evaluations() -> list[int]:
    """A counter of the recompute's engine calls (the engine itself runs unchanged)."""
    from tracker.ladder import results

    calls = [0]
    original = results.evaluate

    def counting(facts, **kwargs):
        calls[0] += 1
        return original(facts, **kwargs)

    results.evaluate = counting
    return calls


def _result_writes() -> list[int]:
    """A counter of the INSERT/UPDATE statements sent to eligibility_results and the rows they
    wrote (the driver's row count: one parameter set may write all of a firm's rows)."""
    from sqlalchemy import event

    from tracker.extensions import db

    sent = [0, 0]

    def grab(_conn, cursor, statement, parameters, _context, executemany):
        head = statement.lstrip()[:40].upper()
        if head.startswith(("INSERT INTO ELIGIBILITY_RESULTS", "UPDATE ELIGIBILITY_RESULTS")):
            sent[0] += 1
            counted = cursor.rowcount
            sent[1] += counted if counted is not None and counted >= 0 else (
                len(parameters) if executemany else 1)

    event.listen(db.engine, "after_cursor_execute", grab)
    return sent


def measure(url: str) -> dict[str, float]:
    """The figures above, on one database."""
    from datetime import timedelta

    app = _app(url)  # first: it imports every model before the services below are imported

    from sqlalchemy import select, text

    from tracker.clock import frozen, now_utc
    from tracker.enterprises.models import Enterprise
    from tracker.extensions import db
    from tracker.ladder.results import evaluate_facts
    from tracker.ladder.rules import FactsError, evaluate
    from tracker.ladder.services import local_thresholds

    out: dict[str, float] = {}
    with app.app_context():
        ids = list(db.session.scalars(select(Enterprise.id).where(Enterprise.status == "active")
                                      .order_by(Enterprise.id)))
        out["firms"] = len(ids)
        db.session.execute(text("UPDATE eligibility_results SET inputs_hash = NULL"))
        db.session.commit()
        db.session.remove()
        calls, writes = _evaluations(), _result_writes()

        def run(name: str) -> None:
            calls[0] = writes[0] = writes[1] = 0
            started = time.perf_counter()
            _run_all()
            out[f"{name}_s"] = time.perf_counter() - started
            out[f"{name}_evaluated"], out[f"{name}_rows_written"] = calls[0], writes[1]
            db.session.remove()

        run("first")
        out["first_per_s"] = len(ids) / out["first_s"]
        run("second")
        with frozen(now_utc() + timedelta(days=1)):  # the next night, nothing changed
            run("next_day")
        # the runs' own peak, before this process holds every firm's facts at once
        out["runs_peak_rss_mb"] = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024
        facts = _facts_for_all(ids)
        evaluate_facts(facts[0])  # warm the rules' caches
        thresholds = local_thresholds()
        started = time.perf_counter()
        for f in facts:
            with contextlib.suppress(FactsError):  # contradictory figures cost all the same
                evaluate(f, local_thresholds=thresholds)
        out["evaluate_s"] = time.perf_counter() - started
        out["evaluate_per_s"] = len(facts) / out["evaluate_s"]
        del facts
        out["first_over_evaluate"] = out["first_per_s"] / out["evaluate_per_s"]
        out["second_over_first"] = out["second_s"] / out["first_s"]
        out["next_day_over_first"] = out["next_day_s"] / out["first_s"]
        out.update(_stored_bytes())
        db.session.remove()
    return {k: round(v, 3) if isinstance(v, float) else v for k, v in out.items()}


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("url", help="database URL of a generated database")
    parser.add_argument("--json", action="store_true", help="print one JSON line only")
    args = parser.parse_args()
    figures = measure(args.url)
    if args.json:
        print(json.dumps(figures))
        return
    print(f"firms                     {figures['firms']:>10,}")
    print(f"pure evaluate             {figures['evaluate_per_s']:>10,.0f} firms/s "
          f"({figures['evaluate_s']:.1f} s)")
    print(f"first full recompute      {figures['first_per_s']:>10,.0f} firms/s "
          f"({figures['first_s']:.1f} s)  = {figures['first_over_evaluate']:.2f}× evaluate "
          "(target ≥ 0.5)")
    print(f"second, nothing changed   {figures['second_s']:>10.1f} s  "
          f"= {figures['second_over_first']:.1%} of the first (target ≤ 5%)")
    print(f"next day, nothing changed {figures['next_day_s']:>10.1f} s  "
          f"= {figures['next_day_over_first']:.1%} of the first (target ≤ 5%)")
    for name in ("first", "second", "next_day"):
        print(f"  {name + ' run':<23} {figures[name + '_evaluated']:>10,} firms evaluated, "
              f"{figures[name + '_rows_written']:,} result rows written")
    print(f"stored per firm and kind  {figures['row_bytes']:>10.0f} B a row, "
          f"{figures['json_bytes']:.0f} B of it JSON (target ≤ 300)")


if __name__ == "__main__":
    main()
