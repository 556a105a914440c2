"""Two chart endpoints (funnel, workload) at two PostgreSQL sizes, side by side in one run.

Issue 14's leftovers: every chart should cost the same whatever the register's size. For each
database (BENCH_PG_DBS, e.g. "bench_10k bench_500k", generated with
`flask demo generate --firms N`), in-process through the test client as a bureau user and a
zone officer, the cache off, the maintained figures refreshed first: p50 of BENCH_REPEAT
requests, interleaved across the databases (a shared machine's load hits both alike), and the
slowest statements of each endpoint. `--explain TEXT` prints EXPLAIN (ANALYZE, BUFFERS) of
the statements holding TEXT. A benchmark, not a timed test.

Run: BENCH_PG_DBS="bench_10k bench_500k" python bench/chart_sizes.py [--explain stays]
(BENCH_ROOT: measure another checkout's code, e.g. the lead's main, on the same databases).
"""

from __future__ import annotations

import argparse
import os
import statistics
import sys
import time
from pathlib import Path

ROOT = Path(os.environ.get("BENCH_ROOT") or Path(__file__).resolve().parent.parent)
sys.path.insert(0, str(ROOT))

from bench.board_page import uncached_app  # noqa: E402

REPEAT = int(os.environ.get("BENCH_REPEAT", "15"))
DBS = os.environ.get("BENCH_PG_DBS", "bench_10k bench_500k").split()
ADMIN = os.environ.get("BENCH_PG_ADMIN", "postgresql://postgres@127.0.0.1:5432/postgres")
PATHS = [("list first page", "/enterprises/"), ("chart funnel", "/dashboard/charts/funnel.json"),
         ("chart workload", "/dashboard/charts/workload.json")]
USERS = [("bureau", None, "sizes-bureau@bench.example"),
         ("zone", "hitech", "sizes-zone@bench.example")]
PASSWORD = "Groessen-Vergleich-2026"  # noqa: S105 (throwaway bench users)


def prepare(app) -> None:
    from sqlalchemy import select

    from tracker.accounts import services as accounts
    from tracker.accounts.models import User
    from tracker.dashboard import aggregates
    from tracker.extensions import db

    with app.app_context():
        for role, zone, email in USERS:
            if not db.session.scalar(select(User.id).where(User.email == email)):
                accounts.create_user(email, PASSWORD, role, name="规模对比", zone=zone)
        db.session.commit()
        if aggregates.current_state() is None:
            aggregates.refresh()
            db.session.commit()


def explain(app, statement: str, params) -> None:
    from tracker.extensions import db

    with app.app_context():
        raw = db.engine.raw_connection()
        try:
            cursor = raw.cursor()
            cursor.execute("EXPLAIN (ANALYZE, BUFFERS) " + statement, params)
            for (line,) in cursor.fetchall():
                print("    " + line)
        finally:
            raw.close()


def main() -> int:
    from sqlalchemy import event

    from tracker.extensions import db

    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--explain", metavar="TEXT", action="append", default=[],
                        help="EXPLAIN ANALYZE the statements whose SQL or parameters hold TEXT")
    args = parser.parse_args()
    base = ADMIN.rsplit("/", 1)[0]
    apps = {name: uncached_app(f"{base}/{name}") for name in DBS}
    clients = {}
    for name, app in apps.items():
        prepare(app)
        for _role, _zone, email in USERS:
            client = app.test_client()
            client.post("/login", data={"email": email, "password": PASSWORD})
            clients[(name, email)] = client
    samples: dict[tuple, list[float]] = {}
    slow: dict[tuple, list[tuple[float, str, object]]] = {}
    for i in range(REPEAT + 1):
        for (name, email), client in clients.items():
            app = apps[name]
            with app.app_context():
                for label, path in PATHS:
                    spent: list[tuple[float, str, object]] = []
                    begun: dict[int, float] = {}

                    def before(_c, cursor, _s, _p, _x, _m, into=begun):
                        into[id(cursor)] = time.perf_counter()

                    def after(_c, cursor, statement, params, _x, _m, into=spent, b=begun):
                        into.append((time.perf_counter() - b.pop(id(cursor), 0.0),
                                     statement, params))

                    event.listen(db.engine, "before_cursor_execute", before)
                    event.listen(db.engine, "after_cursor_execute", after)
                    started = time.perf_counter()
                    response = client.get(path)
                    took = time.perf_counter() - started
                    event.remove(db.engine, "before_cursor_execute", before)
                    event.remove(db.engine, "after_cursor_execute", after)
                    assert response.status_code == 200, (name, path, response.status_code)
                    if i == 0:
                        continue  # warm-up
                    samples.setdefault((name, email, label), []).append(took)
                    slow[(name, email, label)] = sorted(spent, key=lambda s: -s[0])
    print(f"p50 ms of {REPEAT} requests (cache off; interleaved across databases)")
    header = "".join(f"{n:>18s}" for n in DBS)
    print(f"  {'user':8s} {'page':18s}{header}   ratio (last ÷ first)")
    for _role, _zone, email in USERS:
        for label, _path in PATHS:
            values = [statistics.median(samples[(n, email, label)]) * 1000 for n in DBS]
            cells = "".join(f"{v:18.1f}" for v in values)
            print(f"  {email.split('-')[1].split('@')[0]:8s} {label:18s}{cells}"
                  f"   {values[-1] / values[0]:.2f}")
    for name in DBS:
        for _role, _zone, email in USERS:
            for label, _path in PATHS[1:]:
                print(f"\n{name} {email} {label}: slowest statements of the last request")
                for took, statement, _params in slow[(name, email, label)][:3]:
                    print(f"  {took * 1000:7.1f} ms  {' '.join(statement.split())[:160]}")
                for _took, statement, params in slow[(name, email, label)]:
                    if any(t in statement or t in str(params) for t in args.explain):
                        print(f"  EXPLAIN {' '.join(statement.split())[:120]}")
                        explain(apps[name], statement, params)
    for app in apps.values():
        with app.app_context():
            db.session.remove()
            db.engine.dispose()
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
