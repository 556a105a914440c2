"""The cold dashboard and its charts against the enterprise list's first page, side by side.

Issue 14 (Charts): with many firms the dashboard costs at most 3× an enterprise page. The figures
are cached per scope, but every counted change (counts_versions) invalidates them, so on a busy
day users pay the cold cost: this measures it with the cache off (DASHBOARD_CACHE_SECONDS = 0),
in-process through the test client (the app's own work, no HTTP), p50 of BENCH_REPEAT requests.

For each size a SQLite database is generated once under bench/out/ (`flask demo generate`, kept
for the next run, as `make bench` does); `--postgres` also measures the PostgreSQL database
bench_h5 (the same generator). `--queries` prints the slowest statements of each page.
Run: `python bench/dashboard_cold.py --sizes 20000 100000 [--postgres] [--queries]`.
A benchmark, not a timed test.
"""

from __future__ import annotations

import argparse
import json
import os
import statistics
import sys
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from bench.run import OUT, PG_ADMIN, bench_app, prepare  # noqa: E402

REPEAT = int(os.environ.get("BENCH_REPEAT", "5"))
#: a bureau user (sees every firm); bench/run.py's password contains its mail's user name
EMAIL, PASSWORD = "cold@dashboard.example", "Kalt-Armaturen-2026"
CHARTS = ("trends", "funnel", "zones", "incubation", "workload")
PAGES = [("list first page", "/enterprises/"), ("dashboard (cold)", "/"),
         *((f"chart {c}", f"/dashboard/charts/{c}.json") for c in CHARTS)]


def setup_user(url: str) -> None:
    from sqlalchemy import select

    from tracker.accounts import services as accounts
    from tracker.accounts.models import User
    from tracker.extensions import db

    app = bench_app(url)
    with app.app_context():
        if not db.session.scalar(select(User.id).where(User.email == EMAIL)):
            accounts.create_user(EMAIL, PASSWORD, "bureau", name="冷启动")
            db.session.commit()
        db.session.remove()
        db.engine.dispose()


def measure(url: str, show_queries: bool) -> dict[str, dict[str, float]]:
    """p50 ms and statement count per page, the cache off."""
    from sqlalchemy import event

    from tracker import snapshots
    from tracker.extensions import db

    app = bench_app(url)
    app.config["DASHBOARD_CACHE_SECONDS"] = 0
    snapshots.clear()
    found: dict[str, dict[str, float]] = {}
    with app.app_context():
        client = app.test_client()
        client.post("/login", data={"email": EMAIL, "password": PASSWORD})
        engine = db.engine
        for label, path in PAGES:
            assert client.get(path).status_code == 200, path  # warm the page cache of the db
            timings: list[tuple[float, str]] = []
            started_at: dict[int, float] = {}

            def before(_conn, cursor, _statement, _params, _context, _many, into=started_at):
                into[id(cursor)] = time.perf_counter()

            def after(_conn, cursor, statement, _params, _context, _many, into=timings,
                      begun=started_at):
                into.append((time.perf_counter() - begun.pop(id(cursor), 0.0), statement))

            samples = []
            for i in range(REPEAT):
                if i == 0:
                    event.listen(engine, "before_cursor_execute", before)
                    event.listen(engine, "after_cursor_execute", after)
                started = time.perf_counter()
                response = client.get(path)
                samples.append(time.perf_counter() - started)
                if i == 0:
                    event.remove(engine, "before_cursor_execute", before)
                    event.remove(engine, "after_cursor_execute", after)
                assert response.status_code == 200, (path, response.status_code)
            found[label] = {"ms": round(statistics.median(samples) * 1000, 1),
                            "queries": len(timings),
                            "sql_ms": round(sum(t for t, _s in timings) * 1000, 1)}
            if show_queries:
                print(f"    {label}")
                for spent, statement in sorted(timings, reverse=True)[:4]:
                    text = " ".join(statement.split())[:150]
                    print(f"      {spent * 1000:8.1f} ms  {text}")
        db.session.remove()
        engine.dispose()
    return found


def report(name: str, found: dict[str, dict[str, float]]) -> None:
    base = found["list first page"]["ms"]
    print(f"\n{name}  (cache off, p50 of {REPEAT})")
    print(f"  {'page':20s} {'ms':>9s} {'÷ list':>8s} {'queries':>8s} {'SQL ms':>9s}")
    for label, row in found.items():
        print(f"  {label:20s} {row['ms']:9.1f} {row['ms'] / base:8.2f} {row['queries']:8d}"
              f" {row['sql_ms']:9.1f}")
    charts = sum(found[f"chart {c}"]["ms"] for c in CHARTS)
    print(f"  {'charts together':20s} {charts:9.1f} {charts / base:8.2f}")


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--sizes", nargs="+", type=int, default=[20000])
    parser.add_argument("--postgres", action="store_true", help="also PostgreSQL bench_h5")
    parser.add_argument("--queries", action="store_true", help="print the slowest statements")
    args = parser.parse_args()
    OUT.mkdir(parents=True, exist_ok=True)
    targets = [(f"SQLite {n:,} firms", "sqlite", n,
                f"sqlite:///{OUT / f'sqlite-{n // 1000}k.db'}") for n in args.sizes]
    if args.postgres:
        n = args.sizes[-1]
        targets.append((f"PostgreSQL {n:,} firms", "postgresql", n,
                        PG_ADMIN.rsplit("/", 1)[0] + "/bench_h5"))
    results = {}
    for name, backend, size, url in targets:
        prepare(backend, size, url)
        setup_user(url)
        results[name] = measure(url, args.queries)
        report(name, results[name])
    (OUT / "dashboard_cold.json").write_text(json.dumps(results, indent=2, ensure_ascii=False))
    return 0


if __name__ == "__main__":
    sys.exit(main())
