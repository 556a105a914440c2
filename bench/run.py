"""`make bench`: every page and job of issue 12 at each size, side by side in one run.

For each size a database is generated once (`flask demo generate`) and kept for the next run.
Pages are served by gunicorn (2 workers) and measured over HTTP: single-request p50, the
largest÷smallest size ratio, the page÷its own SQL replayed on the raw driver, and req/s÷a
trivial route of the same app on the same gunicorn. Jobs run in a child process each: wall
time and peak RSS. The import is compared with a plain openpyxl read-only parse of its file.
Prints one table and writes bench/out/bench.json. A benchmark, not a timed test.

Environment:
  BENCH_SIZES         PostgreSQL sizes (default "10000 500000" when PostgreSQL is reachable)
  BENCH_SQLITE_SIZES  SQLite sizes (default "100000"; "" to skip)
  BENCH_PG_ADMIN      admin URL (default postgresql://postgres@127.0.0.1:5432/postgres)
  BENCH_DB_PREFIX     PostgreSQL database name prefix (default "bench_")
  BENCH_JOBS          jobs to run (default "sweep sweep_due recompute import"; "" for pages
                      only). sweep: one sweep of the generated database as it is; sweep_due:
                      the same K items made due at every size, then one sweep (bench/sweep_due);
                      recompute: every firm's inputs changed, then the nightly run, the same
                      run again, the next night's, and the pure rules engine over the same
                      facts (bench/recompute; it rewrites the stored results)
  BENCH_SWEEP_DUE_K   items made due for sweep_due (default 100 firms newly eligible and 100
                      application deadlines)
  BENCH_IMPORT_ROWS   rows in the import file (default 50000)
  BENCH_REPEAT        sequential requests per page (default 15)

`python bench/run.py --only JOB` (import, recompute, sweep, sweep_due) measures one
job on every target without the pages: quick before/after figures while working on that job.
"""

from __future__ import annotations

import argparse
import json
import os
import re
import socket
import statistics
import subprocess
import sys
import threading
import time
import urllib.parse
from http.client import HTTPConnection
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
OUT = ROOT / "bench" / "out"
sys.path.insert(0, str(ROOT))

from bench import app_for  # noqa: E402
from bench.report import sweep_due_ratio, table  # noqa: E402

PG_ADMIN = os.environ.get("BENCH_PG_ADMIN", "postgresql://postgres@127.0.0.1:5432/postgres")
PREFIX = os.environ.get("BENCH_DB_PREFIX", "bench_")
REPEAT = int(os.environ.get("BENCH_REPEAT", "15"))
JOBS = os.environ.get("BENCH_JOBS", "sweep sweep_due recompute import").split()
#: items made due before the timed sweep of the sweep_due job, the same at every size
SWEEP_DUE_K = int(os.environ.get("BENCH_SWEEP_DUE_K", "100"))
IMPORT_ROWS = int(os.environ.get("BENCH_IMPORT_ROWS", "50000"))
BENCH_EMAIL, BENCH_PASSWORD = "timer@bench.example", "bench-password-2026"
#: a two-word stem the generator puts in about one name in 450
SEARCH_TERM = "星辰芯片"

#: (label, path); {detail} is replaced by a generated firm's id
PAGES = [
    ("dashboard", "/"),
    ("ladder board", "/ladder/board"),
    ("name search", "/enterprises/?q=" + urllib.parse.quote(SEARCH_TERM)),
    ("near misses", "/ladder/board?view=near"),
    ("list first page", "/enterprises/"),
    ("API list", "/api/v1/enterprises"),
    ("detail page", "/enterprises/{detail}"),
    ("carriers", "/incubation/carriers"),
    ("ledger", "/reminders/"),
    # the dashboard's charts, fetched by the page's script (issue 14)
    *((f"chart {name}", f"/dashboard/charts/{name}.json")
      for name in ("trends", "funnel", "zones", "incubation", "workload")),
]
TRIVIAL = "/_bench/ping"


# --------------------------------------------------------------------------------------------
# Databases
# --------------------------------------------------------------------------------------------


def postgres_reachable() -> bool:
    parts = urllib.parse.urlsplit(PG_ADMIN)
    try:
        with socket.create_connection((parts.hostname, parts.port or 5432), timeout=1):
            return True
    except OSError:
        return False


def targets() -> list[tuple[str, int, str]]:
    """(backend, size, database URL) for every size asked for."""
    found = []
    pg_default = "10000 500000" if postgres_reachable() else ""
    for size in os.environ.get("BENCH_SIZES", pg_default).split():
        name = f"{PREFIX}{int(size) // 1000}k"
        found.append(("postgresql", int(size), PG_ADMIN.rsplit("/", 1)[0] + "/" + name))
    for size in os.environ.get("BENCH_SQLITE_SIZES", "100000").split():
        found.append(("sqlite", int(size), f"sqlite:///{OUT / f'sqlite-{int(size) // 1000}k.db'}"))
    return found


def _env(url: str) -> dict[str, str]:
    env = {k: v for k, v in os.environ.items() if k not in ("REDIS_URL",)}
    env.update(DATABASE_URL=url, PYTHONPATH=str(ROOT), FLASK_APP="tracker",
               INSTANCE_DIR=str(OUT / "instance"),
               SECRET_KEY="bench-only-secret")  # noqa: S106 (a throwaway bench database)
    return env


def _firms_in(url: str) -> int | None:
    from sqlalchemy import create_engine, text

    engine = create_engine(url)
    try:
        with engine.connect() as conn:
            return conn.execute(text("SELECT count(*) FROM enterprises")).scalar()
    except Exception:
        return None
    finally:
        engine.dispose()


def prepare(backend: str, size: int, url: str) -> float | None:
    """Generate the database unless it already holds `size` firms; the load time, if loaded.

    A kept database is still upgraded to the latest migration (new indexes) before measuring.
    """
    flask = str(Path(sys.executable).with_name("flask"))
    env = _env(url)
    loaded = None
    if _firms_in(url) != size:
        if backend == "postgresql":
            import psycopg

            name = url.rsplit("/", 1)[1]
            if not re.fullmatch(r"\w+", name):
                raise SystemExit(f"odd database name {name!r}")
            with psycopg.connect(PG_ADMIN, autocommit=True) as conn:
                conn.execute(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')
                conn.execute(f'CREATE DATABASE "{name}"')
        else:
            Path(url.removeprefix("sqlite:///")).unlink(missing_ok=True)
        subprocess.run([flask, "db", "upgrade"], cwd=ROOT, env=env, check=True,
                       stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
        print(f"   generating {size:,} firms on {backend} …", flush=True)
        started = time.perf_counter()
        subprocess.run([flask, "demo", "generate", "--firms", str(size)], cwd=ROOT, env=env,
                       check=True)
        loaded = time.perf_counter() - started
    subprocess.run([flask, "db", "upgrade"], cwd=ROOT, env=env, check=True,
                   stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    if backend == "postgresql":
        import psycopg

        # the steady state autovacuum reaches on its own: statistics and a current visibility map
        with psycopg.connect(url, autocommit=True) as conn:
            conn.execute("VACUUM ANALYZE")
    else:
        import sqlite3

        with sqlite3.connect(url.removeprefix("sqlite:///")) as conn:
            conn.execute("ANALYZE")
    return loaded


# --------------------------------------------------------------------------------------------
# In-process work: the bench user, the detail id, each page's SQL replayed raw
# --------------------------------------------------------------------------------------------


def bench_app(url: str):
    """The app the page measurements sign in to with a plain POST."""
    return app_for(url, WTF_CSRF_ENABLED=False, FAST_PASSWORD_HASHES=True)


def setup_user(url: str) -> int:
    """The bench user (bureau: sees every firm) and a detail page worth looking at."""
    from sqlalchemy import select

    from tracker.accounts import services as accounts
    from tracker.accounts.models import User
    from tracker.enterprises.models import Enterprise
    from tracker.extensions import db

    app = bench_app(url)
    with app.app_context():
        if not db.session.scalar(select(User.id).where(User.email == BENCH_EMAIL)):
            accounts.create_user(BENCH_EMAIL, BENCH_PASSWORD, "bureau", name="基准测试")
            db.session.commit()
        detail = db.session.scalar(select(Enterprise.id).where(
            Enterprise.current_rung == "hnte").order_by(Enterprise.id).limit(1))
        db.session.remove()
        db.engine.dispose()
    return detail or 1


def raw_sql_ms(url: str, paths: dict[str, str]) -> dict[str, dict[str, float]]:
    """Each page's own SELECTs, captured in-process from the view's own query building and
    replayed on the raw driver: p50 ms of all of them together, and of the slowest one alone
    (the page's main list or aggregate) with its first words, so a ratio names its query."""
    from sqlalchemy import event

    from tracker import snapshots
    from tracker.extensions import db

    app = bench_app(url)
    snapshots.clear()  # figures kept from the previous size's database must not answer here
    found: dict[str, dict[str, float]] = {}
    with app.app_context():
        client = app.test_client()
        client.post("/login", data={"email": BENCH_EMAIL, "password": BENCH_PASSWORD})
        engine = db.engine
        for label, path in paths.items():
            client.get(path)  # warm, as the measured requests are: kept figures are not re-read
            captured: list[tuple[str, object]] = []

            def grab(_conn, _cursor, statement, parameters, _context, _many, into=captured):
                if statement.lstrip().upper().startswith(("SELECT", "WITH")):
                    into.append((statement, parameters))

            event.listen(engine, "before_cursor_execute", grab)
            try:
                client.get(path)
            finally:
                event.remove(engine, "before_cursor_execute", grab)
            raw = engine.raw_connection()
            try:
                each: list[list[float]] = [[] for _ in captured]
                for _ in range(5):
                    cursor = raw.cursor()
                    for i, (statement, parameters) in enumerate(captured):
                        started = time.perf_counter()
                        cursor.execute(statement, parameters)
                        cursor.fetchall()
                        each[i].append(time.perf_counter() - started)
                    cursor.close()
                raw.rollback()
            finally:
                raw.close()
            medians = [statistics.median(s) * 1000 for s in each] or [0.0]
            main = max(range(len(medians)), key=medians.__getitem__)
            found[label] = {"all": sum(medians), "main": medians[main],
                            "statements": len(captured),
                            "main_sql": " ".join(captured[main][0].split())[:160]
                            if captured else ""}
        db.session.remove()
        engine.dispose()
    return found


def load_average() -> str:
    """The machine's 1/5/15-minute load when a size was measured (a shared machine)."""
    try:
        return " ".join(Path("/proc/loadavg").read_text().split()[:3])
    except OSError:
        return "n/a"


# --------------------------------------------------------------------------------------------
# Pages over HTTP under gunicorn
# --------------------------------------------------------------------------------------------


class Gunicorn:
    def __init__(self, url: str) -> None:
        with socket.socket() as s:
            s.bind(("127.0.0.1", 0))
            self.port = s.getsockname()[1]
        self.url, self.proc = url, None

    def __enter__(self) -> Gunicorn:
        gunicorn = str(Path(sys.executable).with_name("gunicorn"))
        self.proc = subprocess.Popen(
            [gunicorn, "-w", "2", "-b", f"127.0.0.1:{self.port}", "--timeout", "300",
             "bench.wsgi:app"], cwd=ROOT, env=_env(self.url),
            stdout=subprocess.DEVNULL, stderr=(OUT / "gunicorn.log").open("ab"))
        deadline = time.time() + 60
        while time.time() < deadline:
            try:
                status, _ = self.get(TRIVIAL, {})
                if status == 200:
                    return self
            except OSError:
                time.sleep(0.2)
        raise SystemExit("gunicorn did not start (see bench/out/gunicorn.log)")

    def __exit__(self, *_exc) -> None:
        self.proc.terminate()
        self.proc.wait(30)

    def get(self, path: str, headers: dict[str, str]) -> tuple[int, bytes]:
        conn = HTTPConnection("127.0.0.1", self.port, timeout=300)
        try:
            conn.request("GET", path, headers=headers)
            response = conn.getresponse()
            return response.status, response.read()
        finally:
            conn.close()

    def login(self) -> dict[str, str]:
        conn = HTTPConnection("127.0.0.1", self.port, timeout=60)
        body = urllib.parse.urlencode({"email": BENCH_EMAIL, "password": BENCH_PASSWORD})
        conn.request("POST", "/login", body=body,
                     headers={"Content-Type": "application/x-www-form-urlencoded"})
        response = conn.getresponse()
        response.read()
        cookies = [h.split(";", 1)[0] for k, h in response.getheaders()
                   if k.lower() == "set-cookie"]
        conn.close()
        if response.status != 302 or not cookies:
            raise SystemExit(f"bench login failed ({response.status})")
        return {"Cookie": "; ".join(cookies)}


def p50_ms(server: Gunicorn, path: str, headers: dict[str, str]) -> float:
    for _ in range(2):  # warm the worker and the database's cache
        status, _ = server.get(path, headers)
        if status != 200:
            raise SystemExit(f"{path} answered {status}")
    samples = []
    for _ in range(REPEAT):
        started = time.perf_counter()
        server.get(path, headers)
        samples.append(time.perf_counter() - started)
    return statistics.median(samples) * 1000


def req_per_s(server: Gunicorn, path: str, headers: dict[str, str], seconds: float = 3.0,
              clients: int = 4) -> float:
    done = [0] * clients
    stop = time.perf_counter() + seconds

    def hammer(i: int) -> None:
        while time.perf_counter() < stop:
            server.get(path, headers)
            done[i] += 1

    threads = [threading.Thread(target=hammer, args=(i,)) for i in range(clients)]
    started = time.perf_counter()
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    return sum(done) / (time.perf_counter() - started)


def measure_pages(url: str) -> dict[str, dict[str, float]]:
    detail = setup_user(url)
    paths = {label: path.format(detail=detail) for label, path in PAGES}
    raw = raw_sql_ms(url, paths)
    pages: dict[str, dict[str, float]] = {}
    with Gunicorn(url) as server:
        headers = server.login()
        trivial = req_per_s(server, TRIVIAL, {})
        trivial_ms = p50_ms(server, TRIVIAL, {})
        for label, path in paths.items():
            ms = p50_ms(server, path, headers)
            rps = req_per_s(server, path, headers)
            sql = raw[label]
            pages[label] = {"p50_ms": round(ms, 1), "raw_sql_ms": round(sql["all"], 2),
                            "page_over_sql": round(ms / max(sql["all"], 0.05), 2),
                            # the least page ÷ SQL could be if the page's own work cost no
                            # more than the trivial route (no session, no template)
                            "floor_over_sql": round((trivial_ms + sql["all"])
                                                    / max(sql["all"], 0.05), 2),
                            "main_sql_ms": round(sql["main"], 1),
                            "page_over_main_sql": round(ms / max(sql["main"], 0.05), 2),
                            "statements": sql["statements"], "main_sql": sql["main_sql"],
                            "req_s": round(rps, 1), "req_s_over_trivial": round(rps / trivial, 3)}
            print(f"   {label:16s} {ms:8.1f} ms  sql {sql['all']:7.1f} ms "
                  f"(main {sql['main']:6.1f}, {sql['statements']} statements)  "
                  f"{rps:7.1f} req/s", flush=True)
        pages["trivial route"] = {"req_s": round(trivial, 1), "p50_ms": round(trivial_ms, 2)}
    return pages


# --------------------------------------------------------------------------------------------
# Jobs, each in a child process: wall time and peak RSS
# --------------------------------------------------------------------------------------------


def run_job(name: str, url: str, *extra: str) -> dict[str, float]:
    """Run `python bench/run.py --job NAME` as a child; its answer plus peak RSS in MB."""
    proc = subprocess.Popen([sys.executable, __file__, "--job", name, "--url", url, *extra],
                            cwd=ROOT, env=_env(url), stdout=subprocess.PIPE)
    output = proc.stdout.read()
    _, status, usage = os.wait4(proc.pid, 0)
    proc.returncode = os.waitstatus_to_exitcode(status)
    if proc.returncode:
        raise SystemExit(f"job {name} failed ({proc.returncode})")
    found = json.loads(output.decode().strip().splitlines()[-1])
    found["peak_rss_mb"] = round(usage.ru_maxrss / 1024, 1)  # Linux: KiB
    return found


def job_main(name: str, url: str, extra: list[str]) -> None:
    """Child side of run_job: do the job, print one JSON line."""
    from tracker.clock import today
    from tracker.extensions import db

    if name == "recompute":  # first run, the same night again, the next night, pure evaluate
        from bench.recompute import measure

        print(json.dumps(measure(url)))
        return
    app = bench_app(url)
    with app.app_context():
        started = time.perf_counter()
        answer: dict[str, float] = {}
        if name == "sweep":
            from sqlalchemy import func, select

            from tracker.reminders.models import Reminder
            from tracker.reminders.sweep import run_sweep

            inserted = run_sweep(today())
            answer["inserted"] = sum(inserted.values())
            answer["reminders"] = db.session.scalar(select(func.count(Reminder.id)))
            db.session.rollback()  # leave the database as generated for the next run
        elif name == "sweep_due":  # the same K items due at every size, in a rolled-back tx
            from bench.sweep_due import measure

            answer.update(measure(SWEEP_DUE_K))
            answer["job_seconds"] = round(time.perf_counter() - started, 2)
            db.session.remove()
            print(json.dumps(answer))
            return
        elif name == "import":
            from tracker.imports import services

            db.create_all()
            with open(extra[0], "rb") as stream:
                stored = services.store_upload(stream, Path(extra[0]).name)
            job = services.create_job("enterprises", stored, Path(extra[0]).name, user_id=None)
            db.session.commit()
            from tracker import names

            names.preload()  # as the import worker does once at start (worker.py), not per job
            from bench.import_50k import cpu_seconds

            started, cpu = time.perf_counter(), cpu_seconds()
            job = services.run_job(job.id, dry_run=False)
            db.session.commit()
            answer["rows"] = job.counts()["rows"]
            answer["cpu_seconds"] = round(cpu_seconds() - cpu, 2)
        answer["seconds"] = round(time.perf_counter() - started, 2)
        db.session.remove()
    print(json.dumps(answer))


def import_bench(backend: str) -> dict[str, float]:
    """Import IMPORT_ROWS rows into an empty database; compare with openpyxl's own parse."""
    from bench.import_50k import against_parse, generate, parse_seconds

    source = OUT / f"import-{IMPORT_ROWS}.xlsx"
    if not source.exists():
        generate(source, IMPORT_ROWS)
    before = parse_seconds(source)
    if backend == "postgresql":
        import psycopg

        name = f"{PREFIX}import"
        with psycopg.connect(PG_ADMIN, autocommit=True) as conn:
            conn.execute(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')
            conn.execute(f'CREATE DATABASE "{name}"')
        url = PG_ADMIN.rsplit("/", 1)[0] + "/" + name
    else:
        db_file = OUT / "import.db"
        db_file.unlink(missing_ok=True)
        url = f"sqlite:///{db_file}"
    found = run_job("import", url, str(source))
    return against_parse(found, IMPORT_ROWS, before, parse_seconds(source))


# --------------------------------------------------------------------------------------------
# The run and its table
# --------------------------------------------------------------------------------------------


def only(job: str) -> int:
    """One job on every target, without the pages; prints and returns its figures."""
    OUT.mkdir(parents=True, exist_ok=True)
    found: dict = {}
    for backend, size, url in targets():
        if job == "import":
            if backend not in found:
                found[backend] = import_bench(backend)
                print(f"import ({backend}): {found[backend]}", flush=True)
            continue
        prepare(backend, size, url)
        found[f"{backend} {size}"] = answer = run_job(job, url)
        print(f"{job} ({backend} {size:,}): {answer}", flush=True)
    if job == "sweep_due":
        for backend in ("postgresql", "sqlite"):
            runs = sorted(((int(key.split()[1]), v) for key, v in found.items()
                           if key.startswith(backend)), key=lambda item: item[0])
            if len(runs) > 1:
                print(f"sweep_due ({backend}) {runs[-1][0]:,} ÷ {runs[0][0]:,}: "
                      f"{sweep_due_ratio(runs[0][1], runs[-1][1]):.2f}", flush=True)
    (OUT / f"only-{job}.json").write_text(json.dumps(found, indent=2, ensure_ascii=False))
    return 0


def main() -> int:
    import signal

    # a SIGTERM (timeout, Ctrl-C in make) must still stop the gunicorn we started
    signal.signal(signal.SIGTERM, lambda *_: sys.exit(143))
    OUT.mkdir(parents=True, exist_ok=True)
    report: dict = {"backends": {}, "import": {}, "started": time.strftime("%Y-%m-%dT%H:%M:%S")}
    for backend, size, url in targets():
        print(f"== {backend} {size:,} firms", flush=True)
        run: dict = {"load_seconds": prepare(backend, size, url)}
        run["load"] = load_average()
        run["pages"] = measure_pages(url)
        run["jobs"] = {}
        for job in ("sweep", "sweep_due", "recompute"):
            if job in JOBS:
                run["jobs"][job] = run_job(job, url)
                print(f"   job {job}: {run['jobs'][job]}", flush=True)
        report["backends"].setdefault(backend, {})[str(size)] = run
        (OUT / "bench.json").write_text(json.dumps(report, indent=2, ensure_ascii=False))
    if "import" in JOBS:
        for backend in report["backends"]:
            report["import"][backend] = import_bench(backend)
    text = table(report, [label for label, _ in PAGES])
    report["table"] = text
    (OUT / "bench.json").write_text(json.dumps(report, indent=2, ensure_ascii=False))
    print(text)
    return 0


if __name__ == "__main__":
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--job")
    parser.add_argument("--url")
    parser.add_argument("--only", help="measure one job (import, recompute, sweep, sweep_due)")
    parser.add_argument("extra", nargs="*")
    args = parser.parse_args()
    if args.job:
        job_main(args.job, args.url, args.extra)
        sys.exit(0)
    if args.only:
        sys.exit(only(args.only))
    sys.exit(main())
