"""The cold dashboard and its charts against the enterprise list's first page, side by side.

Issue 14 (Charts): with many firms the dashboard costs at most 3× an enterprise page. The figures
are cached per scope, but every counted change (the counts version) invalidates them, so on a busy
day users pay the cold cost: this measures it with the cache off (DASHBOARD_CACHE_SECONDS = 0),
in-process through the test client (the app's own work, no HTTP), p50 of BENCH_REPEAT requests.

For each size a SQLite database is generated once under bench/out/ (`flask demo generate`, kept
for the next run, as `make bench` does); `--postgres` also measures the PostgreSQL database
bench_h5 (the same generator). `--queries` prints the slowest statements of each page.
`--before REF` first measures the same databases with the code of git REF (checked out into a
scratch worktree under bench/out/, the database downgraded to REF's migration head), then
upgrades them and measures this tree: before and after side by side in one run.
Run: `python bench/dashboard_cold.py --sizes 20000 100000 [--postgres] [--before main]`.
A benchmark, not a timed test.
"""

from __future__ import annotations

import argparse
import json
import os
import statistics
import subprocess
import sys
import time
from pathlib import Path

#: the code measured: this tree, or the scratch worktree of --before's REF (BENCH_ROOT)
ROOT = Path(os.environ.get("BENCH_ROOT") or Path(__file__).resolve().parent.parent)
HERE = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))
sys.path.insert(1, str(HERE))

from bench.run import PG_ADMIN, _env, bench_app, prepare  # noqa: E402

OUT = HERE / "bench" / "out"

REPEAT = int(os.environ.get("BENCH_REPEAT", "5"))
#: a bureau user (sees every firm); bench/run.py's password contains its mail's user name
EMAIL, PASSWORD = "cold@dashboard.example", "Kalt-Armaturen-2026"
#: the PostgreSQL bench database (--postgres); parallel work trees each use their own
PG_DB = os.environ.get("BENCH_PG_DB", "bench_h5")
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
                            "min_ms": round(min(samples) * 1000, 1),
                            "queries": len(timings),
}
            if show_queries:
                print(f"    {label}")
                for spent, statement in sorted(timings, reverse=True)[:4]:
                    text = " ".join(statement.split())[:150]
                    print(f"      {spent * 1000:8.1f} ms  {text}")
        db.session.remove()
        engine.dispose()
    return found


def report(name: str, found: dict[str, dict[str, float]]) -> None:
    base, base_min = found["list first page"]["ms"], found["list first page"]["min_ms"]
    print(f"\n{name}  (cache off, {REPEAT} requests each: p50 and fastest; a shared machine's"
          f" load shows in p50)")
    print(f"  {'page':20s} {'p50 ms':>9s} {'÷ list':>8s} {'min ms':>9s} {'÷ list':>8s}"
          f" {'queries':>8s}")
    for label, row in found.items():
        print(f"  {label:20s} {row['ms']:9.1f} {row['ms'] / base:8.2f} {row['min_ms']:9.1f}"
              f" {row['min_ms'] / base_min:8.2f} {row['queries']:8d}")
    charts = sum(found[f"chart {c}"]["ms"] for c in CHARTS)
    charts_min = sum(found[f"chart {c}"]["min_ms"] for c in CHARTS)
    print(f"  {'charts together':20s} {charts:9.1f} {charts / base:8.2f} {charts_min:9.1f}"
          f" {charts_min / base_min:8.2f}")


def targets(sizes: list[int], postgres: bool) -> list[tuple[str, str, int, str]]:
    found = [(f"SQLite {n:,} firms", "sqlite", n, f"sqlite:///{OUT / f'sqlite-{n // 1000}k.db'}")
             for n in sizes]
    if postgres:
        n = sizes[-1]
        found.append((f"PostgreSQL {n:,} firms", "postgresql", n,
                      PG_ADMIN.rsplit("/", 1)[0] + "/" + PG_DB))
    return found


def _head(tree: Path) -> str:
    """The newest migration revision in `tree` (its single head)."""
    revisions, parents = set(), set()
    for path in (tree / "migrations" / "versions").glob("*.py"):
        text = path.read_text()
        for line in text.splitlines():
            if line.startswith("revision ="):
                revisions.add(line.split("=", 1)[1].strip().strip("'\""))
            elif line.startswith("down_revision ="):
                parents.add(line.split("=", 1)[1].strip().strip("'\""))
    (head,) = revisions - parents
    return head


def before(ref: str, args: argparse.Namespace) -> dict:
    """Measure every database with the code of `ref`, in a child process on its worktree."""
    tree = OUT / "before-tree"
    if tree.exists():
        subprocess.run(["git", "worktree", "remove", "--force", str(tree)], cwd=HERE, check=True)
    subprocess.run(["git", "worktree", "add", "--detach", "-q", str(tree), ref], cwd=HERE,
                   check=True)
    try:
        head = _head(tree)
        flask = str(Path(sys.executable).with_name("flask"))
        for _name, backend, size, url in targets(args.sizes, args.postgres):
            prepare(backend, size, url)  # generated with this tree, then down to ref's schema
            subprocess.run([flask, "db", "downgrade", head], cwd=HERE, env=_env(url),
                           check=True, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
        out = OUT / "dashboard_cold_before.json"
        command = [sys.executable, str(Path(__file__).resolve()), "--sizes",
                   *map(str, args.sizes), "--json", str(out)]
        if args.postgres:
            command.append("--postgres")
        subprocess.run(command, cwd=tree, env={**os.environ, "BENCH_ROOT": str(tree),
                                               "BENCH_NO_PREPARE": "1"}, check=True)
        return json.loads(out.read_text())
    finally:
        subprocess.run(["git", "worktree", "remove", "--force", str(tree)], cwd=HERE,
                       check=False)


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--sizes", nargs="+", type=int, default=[20000])
    parser.add_argument("--postgres", action="store_true", help="also PostgreSQL bench_h5")
    parser.add_argument("--queries", action="store_true", help="print the slowest statements")
    parser.add_argument("--before", metavar="REF", help="also measure git REF's code first")
    parser.add_argument("--json", type=Path, default=OUT / "dashboard_cold.json")
    args = parser.parse_args()
    OUT.mkdir(parents=True, exist_ok=True)
    earlier = before(args.before, args) if args.before else {}
    results = {}
    for name, backend, size, url in targets(args.sizes, args.postgres):
        if not os.environ.get("BENCH_NO_PREPARE"):
            prepare(backend, size, url)
        setup_user(url)
        results[name] = measure(url, args.queries)
        report(f"{name}{' — ' + str(ROOT) if os.environ.get('BENCH_ROOT') else ''}",
               results[name])
    if earlier:
        print(f"\nbefore ({args.before}) → after (this tree), cold dashboard ÷ list first page")
        for name, now in results.items():
            then = earlier[name]

            def ratio(found: dict, page: str, key: str = "ms") -> float:
                return found[page][key] / found["list first page"][key]

            charts_then = sum(then[f"chart {c}"]["ms"] for c in CHARTS)
            charts_now = sum(now[f"chart {c}"]["ms"] for c in CHARTS)
            print(f"  {name}: dashboard {then['dashboard (cold)']['ms']:.0f} ms "
                  f"({ratio(then, 'dashboard (cold)'):.2f}×) → "
                  f"{now['dashboard (cold)']['ms']:.0f} ms ({ratio(now, 'dashboard (cold)'):.2f}×);"
                  f" charts {charts_then:.0f} → {charts_now:.0f} ms; fastest requests: "
                  f"{ratio(then, 'dashboard (cold)', 'min_ms'):.2f}× → "
                  f"{ratio(now, 'dashboard (cold)', 'min_ms'):.2f}×")
        results = {"before": earlier, "after": results}
    args.json.write_text(json.dumps(results, indent=2, ensure_ascii=False))
    return 0


if __name__ == "__main__":
    sys.exit(main())
