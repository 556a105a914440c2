"""The ladder board and the expiring-titles chart against the enterprise detail page.

Issue 12: the board costs at most 3× the detail page. Issue 14: the workload chart's
"certificates expiring per month ahead" reads only the titles ending inside its window.
In-process through the test client (the app's own work, no HTTP), the clock frozen, the
dashboard cache off; p50 of BENCH_REPEAT requests. Works on an already generated database
(`flask demo generate --firms N`), given by URL.

`--before REF` first measures the same databases with the code of git REF (a scratch worktree,
BENCH_ROOT), then this tree: before and after side by side in one run. `--html DIR` writes each
run's board page there, to compare the rendered content.
Run: `python bench/board_page.py --url sqlite:///… postgresql://… [--before integ]`.
A benchmark, not a timed test.
"""

from __future__ import annotations

import argparse
import json
import os
import statistics
import subprocess
import sys
import tempfile
import time
from datetime import date
from pathlib import Path

#: the code measured: this tree, or the scratch worktree of --before's REF
ROOT = Path(os.environ.get("BENCH_ROOT") or Path(__file__).resolve().parent.parent)
HERE = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(HERE))
from bench import app_for  # noqa: E402 - this tree's, whichever tree is measured

sys.path.insert(0, str(ROOT))

REPEAT = int(os.environ.get("BENCH_REPEAT", "15"))
EMAIL, PASSWORD = "board@bench.example", "Brett-Messung-2026"
#: a fixed day, so both runs render the same page
DAY = date(2026, 12, 2)


def uncached_app(url: str):
    """An app on the bench database `url` with the figure cache off (what users pay right after
    a change); chart_sizes.py measures with it too."""
    return app_for(url, WTF_CSRF_ENABLED=False, FAST_PASSWORD_HASHES=True,
                   DASHBOARD_CACHE_SECONDS=0)


#: the fastest sample of each _p50 call, by label (a loaded machine shows in p50, less in min)
FASTEST: dict[str, float] = {}
#: p50 of this process's CPU time per call, by label: the app's own work (with SQLite's, which
#: runs in-process; without PostgreSQL's), hardly moved by other processes on the machine
CPU: dict[str, float] = {}


def _p50(call, repeat: int = REPEAT, label: str = "") -> float:
    samples, cpu = [], []
    for _ in range(repeat):
        started, started_cpu = time.perf_counter(), time.process_time()
        call()
        samples.append(time.perf_counter() - started)
        cpu.append(time.process_time() - started_cpu)
    FASTEST[label] = round(min(samples) * 1000, 1)
    CPU[label] = round(statistics.median(cpu) * 1000, 1)
    return round(statistics.median(samples) * 1000, 1)


def _sql_ms(client, path: str) -> float:
    """p50 of the page's own SELECTs replayed on the raw driver (fetching every row)."""
    from sqlalchemy import event

    from tracker.extensions import db

    seen: list[tuple[str, object]] = []

    def grab(_conn, _cursor, statement, parameters, _context, _many) -> None:
        if statement.lstrip().upper().startswith("SELECT"):
            seen.append((statement, parameters))

    event.listen(db.engine, "before_cursor_execute", grab)
    client.get(path)
    event.remove(db.engine, "before_cursor_execute", grab)
    raw = db.engine.raw_connection()
    try:
        def replay() -> None:
            cursor = raw.cursor()
            for statement, parameters in seen:
                cursor.execute(statement, parameters)
                cursor.fetchall()
        return _p50(replay)
    finally:
        raw.close()


def measure(url: str, html_dir: Path | None, tag: str) -> dict[str, float]:
    from sqlalchemy import event, select

    from tracker import clock, snapshots
    from tracker.accounts import services as accounts
    from tracker.accounts.models import User
    from tracker.dashboard import charts
    from tracker.enterprises.models import Enterprise
    from tracker.extensions import db

    app = uncached_app(url)
    found: dict[str, float] = {}
    with app.app_context(), clock.frozen(DAY):
        if not db.session.scalar(select(User.id).where(User.email == EMAIL)):
            accounts.create_user(EMAIL, PASSWORD, "bureau", name="看板计时")
            db.session.commit()
        # the dashboard's maintained figures counted today, as the nightly run leaves them
        from tracker.dashboard import aggregates

        aggregates.refresh()
        db.session.commit()
        firm = db.session.scalar(select(Enterprise.id).where(Enterprise.current_rung == "hnte")
                                 .order_by(Enterprise.id).limit(1))
        user = db.session.scalar(select(User).where(User.email == EMAIL))
        client = app.test_client()
        client.post("/login", data={"email": EMAIL, "password": PASSWORD})
        client.post("/language/zh_CN", data={"next": "/"})  # whatever an earlier run left
        statements = {"n": 0}

        def count(*_args) -> None:
            statements["n"] += 1

        for label, path in (("detail", f"/enterprises/{firm}"), ("board", "/ladder/board"),
                            ("workload chart", "/dashboard/charts/workload.json")):
            snapshots.clear()
            first = client.get(path)
            assert first.status_code == 200, (path, first.status_code)
            if label == "board" and html_dir:
                (html_dir / f"board-{tag}.html").write_text(first.get_data(as_text=True))
                client.post("/language/en", data={"next": path})
                (html_dir / f"board-{tag}-en.html").write_text(client.get(path).get_data(
                    as_text=True))
                client.post("/language/zh_CN", data={"next": path})
            event.listen(db.engine, "before_cursor_execute", count)
            statements["n"] = 0
            client.get(path)
            event.remove(db.engine, "before_cursor_execute", count)
            found[f"{label} queries"] = statements["n"]
            found[label] = _p50(lambda p=path: client.get(p), label=label)
            found[f"{label} min"] = FASTEST[label]
            found[f"{label} cpu"] = CPU[label]
        # the board with its column counts cached, as between two counted changes (the
        # production default keeps them DASHBOARD_CACHE_SECONDS)
        app.config["DASHBOARD_CACHE_SECONDS"] = 300
        client.get("/ladder/board")
        found["board cached"] = _p50(lambda: client.get("/ladder/board"))
        app.config["DASHBOARD_CACHE_SECONDS"] = 0
        found["board sql"] = _sql_ms(client, "/ladder/board")
        # the expiring-titles panel alone: the first panel the workload chart builds
        with app.test_request_context():
            found["expiring panel"] = _p50(lambda: charts.workload(user)[0])
            found["expiring numbers"] = charts.workload(user)[0].series[0].values
        db.session.remove()
        db.engine.dispose()
    return found


def report(name: str, found: dict) -> None:
    ratio = found["board"] / found["detail"]
    print(f"  {name}")
    print(f"    detail {found['detail']:7.1f} ms ({found['detail queries']} q)   board "
          f"{found['board']:7.1f} ms ({found['board queries']} q)   board ÷ detail {ratio:5.2f}")
    cached, sql = found["board cached"], found["board sql"]
    print(f"    fastest: detail {found['detail min']:7.1f} ms   board {found['board min']:7.1f} ms"
          f"   board ÷ detail {found['board min'] / found['detail min']:5.2f}")
    print(f"    CPU time: detail {found['detail cpu']:7.1f} ms   board {found['board cpu']:7.1f} ms"
          f"   board ÷ detail {found['board cpu'] / found['detail cpu']:5.2f}")
    print(f"    board, column counts cached {cached:7.1f} ms   ÷ detail "
          f"{cached / found['detail']:5.2f}   its SQL replayed {sql:6.1f} ms   board ÷ its SQL "
          f"{found['board'] / sql:5.2f}")
    print(f"    workload chart {found['workload chart']:7.1f} ms   its expiring panel "
          f"(whole workload() call) {found['expiring panel']:7.1f} ms")
    print(f"    expiring per month: {found['expiring numbers']}")


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--url", nargs="+", required=True)
    parser.add_argument("--before", metavar="REF")
    parser.add_argument("--html", type=Path)
    parser.add_argument("--json", type=Path)
    args = parser.parse_args()
    earlier: dict = {}
    if args.before:
        tree = Path(tempfile.mkdtemp(prefix="board-bench-")) / "before"
        subprocess.run(["git", "worktree", "add", "--detach", "-q", str(tree), args.before],
                       cwd=HERE, check=True)
        # a fresh worktree has no compiled catalogues: without them its English page is Chinese
        subprocess.run([sys.executable, "-c", "from tracker.i18n import compile_catalogs; "
                        "compile_catalogs()"], cwd=tree, check=True)
        out = tree / "before.json"
        try:
            command = [sys.executable, str(Path(__file__).resolve()), "--url", *args.url,
                       "--json", str(out)]
            if args.html:
                command += ["--html", str(args.html)]
            subprocess.run(command, cwd=tree, env={**os.environ, "BENCH_ROOT": str(tree)},
                           check=True)
            earlier = json.loads(out.read_text())
        finally:
            subprocess.run(["git", "worktree", "remove", "--force", str(tree)], cwd=HERE,
                           check=False)
    tag = "before" if os.environ.get("BENCH_ROOT") else "after"
    results = {url.split("@")[-1]: measure(url, args.html, f"{tag}-{i}")
               for i, url in enumerate(args.url)}
    if args.json:
        args.json.write_text(json.dumps(results))
        return 0
    print(f"board and expiring chart, p50 of {REPEAT} requests, clock frozen at {DAY}")
    for name, found in results.items():
        if name in earlier:
            report(f"{name} — before ({args.before})", earlier[name])
        report(f"{name} — this tree", found)
    return 0


if __name__ == "__main__":
    sys.exit(main())
