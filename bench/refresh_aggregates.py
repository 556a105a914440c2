"""The dashboard aggregates' full refresh (nightly, `flask dashboard refresh-aggregates`) timed
on an already generated database, with this tree's code and optionally another tree's, side by
side in one run. Each refresh is rolled back, so the database is the same for every run.

    python bench/refresh_aggregates.py --url postgresql://…/scratch --url sqlite:////tmp/x.db \
        [--before /path/to/an/older/checkout]

Prints, per database and code tree: firms, marks written, statements run, p50 and min seconds
of BENCH_REPEAT refreshes, and a digest of the marks (equal digests: the same figures).
A benchmark, not a timed test.
"""

from __future__ import annotations

import argparse
import hashlib
import json
import os
import statistics
import subprocess
import sys
import time
from pathlib import Path

HERE = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(HERE))
from bench import app_for  # noqa: E402 - this tree's, whichever tree is measured

REPEAT = int(os.environ.get("BENCH_REPEAT", "3"))


def measure(url: str) -> dict:
    """Run in a child whose sys.path leads with the measured tree (BENCH_ROOT)."""
    from sqlalchemy import event, func, select

    from tracker.dashboard import aggregates
    from tracker.dashboard.models import DashboardAggregate, DashboardFirmMark
    from tracker.enterprises.models import Enterprise
    from tracker.extensions import db

    app = app_for(url)
    times, statements = [], []
    with app.app_context():
        firms = db.session.scalar(select(func.count()).select_from(Enterprise))

        def count(*_args) -> None:
            statements.append(1)

        for _ in range(REPEAT):
            statements.clear()
            event.listen(db.engine, "before_cursor_execute", count)
            began = time.perf_counter()
            written = aggregates.refresh()
            times.append(time.perf_counter() - began)
            event.remove(db.engine, "before_cursor_execute", count)
            digest = hashlib.sha256()
            for table in (DashboardFirmMark, DashboardAggregate):
                cols = [c for c in table.__table__.c]
                for row in db.session.execute(select(*cols).order_by(*cols[:-1])):
                    digest.update(repr(tuple(row)).encode())
            db.session.rollback()
    return {"firms": firms, "marks": written, "statements": len(statements),
            "p50": statistics.median(times), "min": min(times),
            "digest": digest.hexdigest()[:12]}


def run(root: Path, url: str) -> dict:
    env = {**os.environ, "BENCH_ROOT": str(root), "PYTHONPATH": str(root),
           "SECRET_KEY": "bench-only-secret"}  # noqa: S105 (a throwaway bench database)
    env.pop("REDIS_URL", None)
    out = subprocess.run([sys.executable, __file__, "--child", url], env=env, cwd=root,
                         capture_output=True, text=True, check=True)
    return json.loads(out.stdout.strip().splitlines()[-1])


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--url", action="append", default=[])
    parser.add_argument("--before", type=Path, help="another checkout to measure first")
    parser.add_argument("--child", help=argparse.SUPPRESS)
    args = parser.parse_args()
    if args.child:
        root = os.environ.get("BENCH_ROOT")
        if root:
            sys.path.insert(0, root)
        print(json.dumps(measure(args.child)))
        return
    trees = ([("before", args.before)] if args.before else []) + [("after", HERE)]
    print(f"{'database':<10} {'code':<7} {'firms':>7} {'marks':>8} {'stmts':>6} "
          f"{'p50 s':>8} {'min s':>8}  digest")
    for url in args.url:
        name = url.split(":", 1)[0]
        found = []
        for label, root in trees:
            r = run(root, url)
            found.append(r)
            print(f"{name:<10} {label:<7} {r['firms']:>7,} {r['marks']:>8,} "
                  f"{r['statements']:>6} {r['p50']:>8.2f} {r['min']:>8.2f}  {r['digest']}")
        if len(found) == 2:
            print(f"{name:<10} ratio before/after p50: {found[0]['p50'] / found[1]['p50']:.1f}×; "
                  f"same figures: {found[0]['digest'] == found[1]['digest']}")


if __name__ == "__main__":
    main()
