"""The enterprise detail page: CPU per request, page ÷ its SQL, and the same bytes as before.

Issue 12 (page ÷ raw SQL ≤ 2.5): the detail page's own rendering. In-process through Flask's
test client, the clock frozen, on an already generated database (`flask demo generate`) given
by DATABASE_URL. Several firms (one per rung, a near miss, a carrier's tenant) are shown to a
bureau, a zone and a carrier manager user, in Chinese and in English.

  python bench/detail_page.py [--against /work/main]   CPU and wall ms per request, both sides
                                                       in alternating rounds (one run)
  python bench/detail_page.py --check /work/main       the pages of both sides byte for byte,
                                                       CSRF tokens masked
  python bench/detail_page.py --profile                cProfile of the bureau's detail page

A benchmark, not a timed test.
"""

from __future__ import annotations

import argparse
import difflib
import json
import os
import re
import statistics
import subprocess
import sys
import time
from datetime import date
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))
from bench import alternate, app_for, profile_requests  # noqa: E402 - this tree's, whichever tree is measured

#: the checkout whose code a child runs (--against / --check start it on another one's code)
sys.path.insert(0, os.environ.get("DETAIL_PAGE_CODE") or str(ROOT))
PASSWORD = "Detail-Messung-2026"  # noqa: S105 - the bench users of a scratch database
#: a fixed day, so both sides render the same page
DAY = date(2026, 12, 2)
#: the generated token of a session and form: differs by run, never by code
CSRF = re.compile(r'((?:name|id)="[\w-]*csrf[_-]token"[^>]*?(?:value|content)=")[^"]*(")')


def _app():
    return app_for(os.environ["DATABASE_URL"], FAST_PASSWORD_HASHES=True,
                   DASHBOARD_CACHE_SECONDS=0)


def _user(email: str, role: str, **where) -> None:
    from sqlalchemy import select

    from tracker.accounts import services as accounts
    from tracker.accounts.models import User
    from tracker.extensions import db

    if not db.session.scalar(select(User.id).where(User.email == email)):
        accounts.create_user(email, PASSWORD, role, name=f"详情{role}", **where)


def _visits() -> tuple[list[tuple[str, int]], int]:
    """(user email, firm id) visits, and the timed hnte firm: per-rung firms of one zone for
    the bureau and that zone's user, a near miss, and two current tenants of one carrier for
    its manager."""
    from sqlalchemy import select

    from tracker.enterprises.models import Enterprise
    from tracker.extensions import db
    from tracker.incubation.models import Tenancy
    from tracker.ladder.models import EligibilityResult

    zone = db.session.scalar(select(Enterprise.zone).where(Enterprise.current_rung == "hnte")
                             .order_by(Enterprise.id).limit(1))
    firms = []
    for rung in (None, "tech_sme", "hnte", "chuying", "dengling", "leader"):
        found = db.session.scalar(select(Enterprise.id).where(
            Enterprise.zone == zone,
            Enterprise.current_rung.is_(None) if rung is None
            else Enterprise.current_rung == rung).order_by(Enterprise.id).limit(1))
        if found:
            firms.append(found)
    near = db.session.scalar(select(EligibilityResult.enterprise_id).join(Enterprise).where(
        EligibilityResult.near_miss_code.is_not(None), Enterprise.zone == zone)
        .order_by(EligibilityResult.enterprise_id).limit(1))
    if near:
        firms.append(near)
    tenancy = db.session.execute(select(Tenancy.carrier_id, Tenancy.enterprise_id).where(
        Tenancy.status == "incubating").order_by(Tenancy.id).limit(1)).first()
    _user("bureau@detail.example", "bureau")
    _user("zone@detail.example", "zone", zone=zone)
    visits = [(e, f) for e in ("bureau@detail.example", "zone@detail.example") for f in firms]
    if tenancy:
        _user("carrier@detail.example", "carrier_manager", carrier_id=tenancy.carrier_id)
        tenants = db.session.scalars(select(Tenancy.enterprise_id).where(
            Tenancy.carrier_id == tenancy.carrier_id, Tenancy.status == "incubating")
            .order_by(Tenancy.enterprise_id).limit(2))
        visits += [("carrier@detail.example", f) for f in tenants]
    db.session.commit()
    return visits, firms[2]


def _client(app, email: str, language: str):
    client = app.test_client()
    page = client.get("/login").get_data(as_text=True)
    token = re.search(r'name="csrf_token"[^>]*value="([^"]+)"', page)
    data = {"email": email, "password": PASSWORD, "csrf_token": token.group(1) if token else ""}
    assert client.post("/login", data=data).status_code == 302, email
    page = client.get("/").get_data(as_text=True)
    token = re.search(r'name="csrf_token"[^>]*value="([^"]+)"', page)
    client.post(f"/language/{language}", data={"next": "/", "csrf_token": token.group(1)})
    return client


def masked(html: str) -> str:
    return CSRF.sub(r"\1…\2", html)


def child(mode: str) -> None:
    """Pages (mode "pages": print them, masked, as JSON) or rounds on stdin (mode "rounds":
    each line "N" runs N requests of the bureau's hnte page and of every visit, answers JSON).

    Requests run outside any app context, as under gunicorn: each pushes its own."""
    from tracker import clock

    app = _app()
    with clock.frozen(DAY):
        with app.app_context():
            visits, hnte = _visits()
        clients = {(email, lang): _client(app, email, lang)
                   for email in {e for e, _ in visits} for lang in ("zh_CN", "en")}
        pages = {f"{email} {lang} {firm}": (clients[email, lang], f"/enterprises/{firm}")
                 for email, firm in visits for lang in ("zh_CN", "en")}
        for label, (client, path) in pages.items():
            response = client.get(path)
            assert response.status_code == 200, (label, response.status_code)
        import tracker

        if mode == "pages":  # the board's views share the stale badge the page imports
            board = ("/ladder/board", "/ladder/board?view=near", "/ladder/board?view=applications")
            pages.update({f"bureau@detail.example {lang} {path}": (
                clients["bureau@detail.example", lang], path)
                for lang in ("zh_CN", "en") for path in board})
            print(json.dumps({label: masked(client.get(path).get_data(as_text=True))
                              for label, (client, path) in pages.items()}))
            return
        print(json.dumps({"ready": tracker.__file__}), flush=True)
        timed = {"bureau, hnte firm": pages[f"bureau@detail.example zh_CN {hnte}"],
                 f"all {len(pages)} visits": None}
        replay = _sql_replay(app, *timed["bureau, hnte firm"])
        for line in sys.stdin:
            n = int(line)
            out = {"its SQL, raw": replay(n)}
            for label, target in timed.items():
                started, wall = time.process_time(), time.perf_counter()
                if target:
                    for _ in range(n):
                        target[0].get(target[1])
                    count = n
                else:
                    for client, path in pages.values():
                        client.get(path)
                    count = len(pages)
                out[label] = ((time.process_time() - started) / count * 1000,
                              (time.perf_counter() - wall) / count * 1000)
            print(json.dumps(out), flush=True)


def _sql_replay(app, client, path: str):
    """The page's own SELECTs, captured once; a function replaying them n times on the raw
    driver (fetching every row, as bench/run.py's raw_sql_ms) -> (CPU, wall) ms per replay."""
    from sqlalchemy import event

    from tracker.extensions import db

    seen: list = []

    def grab(_conn, _cursor, statement, parameters, _context, _many) -> None:
        if statement.lstrip().upper().startswith(("SELECT", "WITH")):
            seen.append((statement, parameters))

    with app.app_context():
        engine = db.engine
    event.listen(engine, "before_cursor_execute", grab)
    client.get(path)
    event.remove(engine, "before_cursor_execute", grab)

    def replay(n: int) -> tuple[float, float]:
        raw = engine.raw_connection()
        try:
            started, wall = time.process_time(), time.perf_counter()
            for _ in range(n):
                cursor = raw.cursor()
                for statement, parameters in seen:
                    cursor.execute(statement, parameters)
                    cursor.fetchall()
                cursor.close()
            done = ((time.process_time() - started) / n * 1000,
                    (time.perf_counter() - wall) / n * 1000)
            raw.rollback()
        finally:
            raw.close()
        return done

    return replay


def _start(root: Path, mode: str) -> subprocess.Popen:
    env = dict(os.environ, PYTHONPATH=str(root), DETAIL_PAGE_CODE=str(root))
    return subprocess.Popen([sys.executable, str(ROOT / "bench" / "detail_page.py"),
                             "--child", mode], cwd=root, env=env, stdin=subprocess.PIPE,
                            stdout=subprocess.PIPE, text=True)


def check(against: Path) -> int:
    """Every visit's page on both sides, byte for byte once CSRF tokens are masked."""
    sides = {}
    for name, root in (("base", against), ("this", ROOT)):
        out, _ = _start(root, "pages").communicate()
        sides[name] = json.loads(out)
    differ = 0
    for label, page in sides["base"].items():
        if sides["this"].get(label) != page:
            differ += 1
            print(f"DIFFERS: {label}")
            sys.stdout.writelines(list(difflib.unified_diff(
                page.splitlines(True), sides["this"][label].splitlines(True), n=1))[:40])
    print(f"{len(sides['base'])} pages compared, {differ} differ")
    return 1 if differ else 0


def compare(against: Path, rounds: int, n: int) -> None:
    sides = {"base": against, "this": ROOT}
    procs = {}
    for name, root in sides.items():
        procs[name] = _start(root, "rounds")
        code = json.loads(procs[name].stdout.readline())["ready"]
        assert code.startswith(str(root)), (name, code)  # the side's own code, not this one
    samples = alternate(procs, rounds, n)
    for name in sides:
        page = statistics.median(x[1] for x in samples[name]["bureau, hnte firm"])
        sql = statistics.median(x[1] for x in samples[name]["its SQL, raw"])
        samples[name]["page ÷ its SQL (wall)"] = [(page / sql, page / sql)]
    print(f"ms per request, median of {rounds} alternating rounds (clock frozen at {DAY})")
    print(f"{'page':<20}{'CPU base':>9}{'this':>8}{'cut':>6}{'wall base':>11}{'this':>8}{'cut':>6}")
    for label in samples["base"]:
        row = f"{label:<20}"
        for i, width in ((0, 9), (1, 11)):
            base = statistics.median(x[i] for x in samples["base"][label])
            this = statistics.median(x[i] for x in samples["this"][label])
            row += f"{base:>{width}.2f}{this:>8.2f}{(1 - this / base) * 100:>5.0f}%"
        print(row)


def sql_ratio(repeat: int = 30) -> None:
    """The bureau's hnte page: p50 wall per request ÷ its own SELECTs replayed on the raw driver
    (as bench/run.py counts them; in-process, no HTTP)."""
    from sqlalchemy import event

    from tracker import clock
    from tracker.extensions import db

    app = _app()
    with clock.frozen(DAY):
        with app.app_context():
            firm = _visits()[1]
        client = _client(app, "bureau@detail.example", "zh_CN")
        path = f"/enterprises/{firm}"
        for _ in range(5):
            client.get(path)
        walls = []
        for _ in range(repeat):
            started = time.perf_counter()
            client.get(path)
            walls.append(time.perf_counter() - started)
        with app.app_context():
            seen: list = []

            def grab(_conn, _cursor, statement, parameters, _context, _many) -> None:
                if statement.lstrip().upper().startswith(("SELECT", "WITH")):
                    seen.append((statement, parameters))

            event.listen(db.engine, "before_cursor_execute", grab)
            client.get(path)
            event.remove(db.engine, "before_cursor_execute", grab)
            raw = db.engine.raw_connection()
            sql = []
            try:
                for _ in range(repeat):
                    cursor = raw.cursor()
                    started = time.perf_counter()
                    for statement, parameters in seen:
                        cursor.execute(statement, parameters)
                        cursor.fetchall()
                    sql.append(time.perf_counter() - started)
                    cursor.close()
                raw.rollback()
            finally:
                raw.close()
    page, raw_ms = statistics.median(walls) * 1000, statistics.median(sql) * 1000
    print(f"detail page {page:6.2f} ms   its {len(seen)} SELECTs raw {raw_ms:5.2f} ms   "
          f"page ÷ SQL {page / raw_ms:5.2f}")


def profile() -> None:
    from tracker import clock

    app = _app()
    with clock.frozen(DAY):
        with app.app_context():
            firm = _visits()[1]
        client = _client(app, "bureau@detail.example", "zh_CN")
        profile_requests(client, f"/enterprises/{firm}")


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--child", choices=("pages", "rounds"), help=argparse.SUPPRESS)
    parser.add_argument("--profile", action="store_true")
    parser.add_argument("--sql", action="store_true", help="page ÷ its SQL, this tree")
    parser.add_argument("--check", type=Path, metavar="DIR", help="compare pages with DIR's")
    parser.add_argument("--against", type=Path, help="another checkout to time beside this")
    parser.add_argument("--rounds", type=int, default=8)
    parser.add_argument("-n", type=int, default=30, help="requests per round")
    args = parser.parse_args()
    if args.child:
        child(args.child)
    elif args.profile:
        profile()
    elif args.sql:
        sql_ratio()
    elif args.check:
        return check(args.check)
    else:
        compare(args.against or ROOT, args.rounds, args.n)
    return 0


if __name__ == "__main__":
    sys.exit(main())
