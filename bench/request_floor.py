"""The fixed cost of a signed-in request, measured in-process (issue 12: page ÷ raw SQL).

CPU per request (time.process_time) through Flask's test client, signed in as a bureau user,
for a cached chart's JSON, the carriers page, the firms list (page and API), the ledger, the
near misses and a detail page. With
`--against DIR` the same paths are measured on another checkout of the project (its own
Python process, same database) in alternating rounds, and the table shows both and the cut:
ratios side by side in one run, as the machine is shared. `--profile PATH` prints a cProfile
of one path instead. The last columns count the round trips to the database of one request
of each path (statements, ping, BEGIN, ROLLBACK: psycopg only). A benchmark, not a timed test.

  DATABASE_URL=postgresql://…/bench_… python bench/request_floor.py [--against /work/main]
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

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))
from bench import alternate, app_for, profile_requests  # noqa: E402 - this tree's, whichever tree is measured

#: the checkout whose code a child measures (--against runs this script on another one's code)
sys.path.insert(0, os.environ.get("REQUEST_FLOOR_CODE") or str(ROOT))
EMAIL, PASSWORD = "floor@bench.example", "bench-password-2026"
PATHS = {
    "anonymous ping": "/_floor/ping",
    "signed-in ping": "/_floor/signed-in",
    "empty page": "/_floor/page",
    "chart JSON": "/dashboard/charts/funnel.json",
    "carriers": "/incubation/carriers",
    "firms list": "/enterprises/",
    "API list": "/api/v1/enterprises",
    "ledger": "/reminders/",
    "near misses": "/ladder/board?view=near",
    "detail page": "/enterprises/{detail}",
}


def _app():
    from flask import render_template
    from flask_login import login_required

    app = app_for(os.environ["DATABASE_URL"], WTF_CSRF_ENABLED=False, FAST_PASSWORD_HASHES=True)

    @app.get("/_floor/ping")
    def ping() -> str:
        """No work at all: the framework's own cost."""
        return "ok"

    @app.get("/_floor/signed-in")
    @login_required
    def signed_in() -> str:
        """No work but who is signed in: the floor under every page."""
        return "ok"

    layout = app.jinja_env.from_string('{% extends "base.html" %}')  # compiled once

    @app.get("/_floor/page")
    @login_required
    def page() -> str:
        """The layout every page shares (navigation, language switch), with no content."""
        return render_template(layout)

    return app


def _signed_in(app):
    """A test client signed in as the bureau user (created on first use), and a detail id."""
    from sqlalchemy import select

    from tracker.accounts import services as accounts
    from tracker.accounts.models import User
    from tracker.enterprises.models import Enterprise
    from tracker.extensions import db

    if not db.session.scalar(select(User.id).where(User.email == EMAIL)):
        accounts.create_user(EMAIL, PASSWORD, "bureau", name="floor")
        db.session.commit()
    detail = db.session.scalar(select(Enterprise.id).order_by(Enterprise.id).limit(1))
    db.session.remove()
    client = app.test_client()
    response = client.post("/login", data={"email": EMAIL, "password": PASSWORD})
    assert response.status_code == 302, response.status_code
    return client, detail


def child() -> None:
    """Serve rounds on stdin: each line "N" runs N requests of every path, answers JSON.

    Requests run outside any app context, as under gunicorn: each pushes its own, so the
    database session is set up and removed per request."""
    app = _app()
    with app.app_context():
        client, detail = _signed_in(app)
    paths = {label: path.format(detail=detail) for label, path in PATHS.items()}
    anonymous = app.test_client()
    clients = {label: anonymous if label.startswith("anonymous") else client for label in paths}
    for label, path in paths.items():  # warm: templates compiled, figures cached
        for _ in range(3):
            assert clients[label].get(path).status_code == 200, path
    import tracker

    trips = {label: _round_trips(clients[label], path) for label, path in paths.items()}
    print(json.dumps({"ready": tracker.__file__, "round_trips": trips}), flush=True)
    for line in sys.stdin:
        n = int(line)
        out = {}
        for label, path in paths.items():
            started, wall = time.process_time(), time.perf_counter()
            for _ in range(n):
                clients[label].get(path)
            out[label] = ((time.process_time() - started) / n * 1000,
                          (time.perf_counter() - wall) / n * 1000)
        print(json.dumps(out), flush=True)


def _round_trips(client, path: str) -> int:
    """Messages psycopg waits on the server for during one request: statements, the pool's
    ping, BEGIN, COMMIT/ROLLBACK (0 on SQLite)."""
    try:
        import psycopg
        from psycopg import _connection_base
    except ImportError:
        return 0
    counted = [0]
    command, execute = _connection_base.BaseConnection._exec_command, psycopg.Cursor.execute

    def counting_command(self, *args, **kwargs):
        counted[0] += 1
        return command(self, *args, **kwargs)

    def counting_execute(self, *args, **kwargs):
        counted[0] += 1
        return execute(self, *args, **kwargs)

    _connection_base.BaseConnection._exec_command = counting_command
    psycopg.Cursor.execute = counting_execute
    try:
        client.get(path)
    finally:
        _connection_base.BaseConnection._exec_command, psycopg.Cursor.execute = command, execute
    return counted[0]


def profile(path: str) -> None:
    app = _app()
    with app.app_context():
        client, detail = _signed_in(app)
    profile_requests(client, path.format(detail=detail))


def compare(against: Path, rounds: int, n: int) -> None:
    sides = {"base": against, "this": ROOT}
    procs = {}
    trips: dict[str, dict[str, int]] = {}
    for name, root in sides.items():
        env = dict(os.environ, PYTHONPATH=str(root), REQUEST_FLOOR_CODE=str(root),
                   INSTANCE_DIR=os.environ.get("INSTANCE_DIR",
                                               str(ROOT / "bench" / "out" / "instance")))
        procs[name] = subprocess.Popen(
            [sys.executable, str(ROOT / "bench" / "request_floor.py"), "--child"], cwd=root,
            env=env, stdin=subprocess.PIPE, stdout=subprocess.PIPE, text=True)
        ready = json.loads(procs[name].stdout.readline())
        code = ready["ready"]
        assert code.startswith(str(root)), (name, code)  # the side's own code, not this one
        trips[name] = ready["round_trips"]
    samples = alternate(procs, rounds, n)
    print(f"ms per request, median of {rounds} alternating rounds of {n} requests")
    print(f"{'path':<14}{'CPU base':>9}{'this':>8}{'cut':>6}{'wall base':>11}{'this':>8}{'cut':>6}"
          f"{'round trips base':>18}{'this':>6}")
    for label in PATHS:
        row = f"{label:<14}"
        for i, width in ((0, 9), (1, 11)):
            base = statistics.median(x[i] for x in samples["base"][label])
            this = statistics.median(x[i] for x in samples["this"][label])
            row += f"{base:>{width}.2f}{this:>8.2f}{(1 - this / base) * 100:>5.0f}%"
        print(row + f"{trips['base'][label]:>18}{trips['this'][label]:>6}")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--child", action="store_true", help=argparse.SUPPRESS)
    parser.add_argument("--profile", metavar="PATH")
    parser.add_argument("--against", type=Path, help="another checkout to compare with")
    parser.add_argument("--rounds", type=int, default=8)
    parser.add_argument("-n", type=int, default=50, help="requests per path and round")
    args = parser.parse_args()
    if args.child:
        child()
    elif args.profile:
        profile(args.profile)
    else:
        compare(args.against or ROOT, args.rounds, args.n)


if __name__ == "__main__":
    main()
