"""Reliability oracle for reminders: real PostgreSQL (schema from the migrations), real Redis,
real Celery worker and beat, real SMTP (aiosmtpd), real HTTP against gunicorn.

N due reminders are delivered while the worker is SIGKILLed several times, two sweeps run at
once and the SMTP server refuses `--transient` of all attempts with 451 and the `--permanent`
share of recipients with 550. Retries depend on the real beat schedule (compressed to
`--beat-seconds`) and on the retry tasks the worker schedules. Then Redis is stopped while
contacts are saved over HTTP: every request must answer within the README's bar (2 s), and
every reminder those saves made must go out once Redis is back.

The seed is written with Core inserts, then the nightly recompute derives rungs and results
the product's way; at the end `flask check` runs the integrity invariants and any violation
fails the run.

The verdict comes from what the SMTP sink received, not from the ledger's own word:
  expected   the rows the first sweep made (their count is asserted) plus those the web saves made
  delivered  distinct Message-IDs the sink accepted, each matched to its row by Message-ID,
             recipient and subject
  failed     allowed only for recipients the sink refused with 5xx, and each of those must be
             `failed`
  lost       every other expected row that was not delivered (pending, expired, "sent" without
             the sink having it …)
  excused    duplicates of rows whose SMTP conversation was in progress at a kill (claimed in
             the ledger and DATA seen by the sink between the claim and the kill)
It exits 1 on any loss, unexcused duplicate, mismatch, on a run that timed out, and on a run that
proves no delivery (nothing delivered, or most recipients refused: `--permanent 1.0` fails).

    python bench/chaos.py --n 20000          # make chaos
    python bench/chaos.py --n 300 --web 50   # what the slow test runs
"""

from __future__ import annotations

import argparse
import http.cookiejar
import json
import os
import re
import shutil
import signal
import subprocess
import sys
import tempfile
import threading
import time
import urllib.error
import urllib.parse
import urllib.request
from datetime import timedelta
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from bench.smtpsink import FlakyHandler, SmtpSink, free_port, refused_share  # noqa: E402

PG_ADMIN = os.environ.get("CHAOS_PG_ADMIN", "postgresql://postgres@127.0.0.1:5432/postgres")
#: README (Development, `make chaos`): every save answers within this even with Redis down
WEB_LATENCY_BAR = 2.0
_MID = re.compile(r"<reminder-(\d+)\.")
#: saves made before Redis stops, so each gunicorn worker is past its first request
WARM_SAVES = 4
#: The default timeout grows with N: delivery is per row (two worker processes, one SMTP
#: conversation and four commits each), so a fixed 1,800 s failed a sound N=20,000 run on a
#: busy machine. Idle, a 2-core machine delivers ~30 reminders/s; shared by seven agents we
#: measured 3-12/s. 0.25 s a row (4/s) plus the start-up; --stall still fails a run that has
#: stopped making progress long before that.
TIMEOUT_BASE, TIMEOUT_PER_ROW = 300.0, 0.25
#: how long gunicorn's workers may take to boot before the web part starts
GUNICORN_BOOT_SECONDS = 180


def parse_args(argv: list[str] | None = None) -> argparse.Namespace:
    p = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    p.add_argument("--n", type=int, default=20000, help="due reminders to deliver")
    p.add_argument("--kills", type=int, default=3, help="times the worker is SIGKILLed")
    p.add_argument("--transient", type=float, default=0.10, help="share of 451 replies")
    p.add_argument("--permanent", type=float, default=0.01,
                   help="share of recipients refused with 550")
    p.add_argument("--outage", type=float, default=0.0,
                   help="seconds the sink answers every DATA with 451 once sending starts")
    p.add_argument("--web", type=int, default=200, help="contacts saved while Redis is down")
    p.add_argument("--database", default=None,
                   help="PostgreSQL database to (re)create, named test_…chaos…; default: one "
                        "of this run's own (test_reminders_chaos_<pid>), dropped at the end")
    p.add_argument("--drop", action="store_true",
                   help="drop a --database given by name when finished")
    p.add_argument("--keep-logs", action="store_true",
                   help="keep the run's folder (process logs) instead of removing it")
    p.add_argument("--concurrency", type=int, default=2)
    p.add_argument("--beat-seconds", type=float, default=2.0,
                   help="interval of the real beat's sweep and reap (production: 5 minutes)")
    p.add_argument("--timeout", type=float, default=None,
                   help="seconds of delivery before giving up (and FAILING); default "
                        f"{TIMEOUT_BASE:g} + {TIMEOUT_PER_ROW:g} s per reminder")
    p.add_argument("--stall", type=float, default=300,
                   help="FAIL as timed out once no reminder has finished for this long")
    p.add_argument("--sabotage", choices=["none", "drop"], default="none",
                   help="oracle self-test: 'drop' marks one row sent without sending it")
    args = p.parse_args(argv)
    if args.database is None:
        # concurrent runs on one server (two CI jobs, `make chaos` beside the suite's short run)
        # must never drop each other's database; nobody else can reuse this one, so it goes
        args.database, args.drop = f"test_reminders_chaos_{os.getpid()}", True
    if args.timeout is None:
        args.timeout = TIMEOUT_BASE + TIMEOUT_PER_ROW * args.n
    return args


# ---------------------------------------------------------------------------------------------
# Processes we own: Redis on a free port, the Celery worker and beat, gunicorn
# ---------------------------------------------------------------------------------------------


class Proc:
    """A child in its own process group, so a kill takes its children too."""

    def __init__(self, argv: list[str], env: dict[str, str], log: Path) -> None:
        self.argv, self.env, self.log, self.proc = argv, env, log, None

    def start(self) -> None:
        self.proc = subprocess.Popen(self.argv, cwd=ROOT, env=self.env,
                                     stdout=self.log.open("ab"), stderr=subprocess.STDOUT,
                                     start_new_session=True)

    def alive(self) -> bool:
        return self.proc is not None and self.proc.poll() is None

    def kill(self) -> None:
        if self.alive():
            os.killpg(self.proc.pid, signal.SIGKILL)
            self.proc.wait(10)

    def stop(self) -> None:
        if self.alive():
            os.killpg(self.proc.pid, signal.SIGTERM)
            try:
                self.proc.wait(15)
            except subprocess.TimeoutExpired:
                self.kill()


def _bin(name: str) -> str:
    return str(Path(sys.executable).with_name(name))


class RedisServer(Proc):
    def __init__(self, port: int, workdir: Path) -> None:
        binary = shutil.which("redis-server")
        if binary is None:
            raise SystemExit("redis-server is not installed")
        super().__init__([binary, "--port", str(port), "--bind", "127.0.0.1", "--save", "",
                          "--appendonly", "no", "--dir", str(workdir)], dict(os.environ),
                         workdir / "redis.log")
        self.port = port

    def start(self) -> None:
        super().start()
        _wait_port(self.port)


def _wait_port(port: int, timeout: float = 20) -> None:
    import socket

    deadline = time.time() + timeout
    while time.time() < deadline:
        try:
            with socket.create_connection(("127.0.0.1", port), timeout=0.5):
                return
        except OSError:
            time.sleep(0.05)
    raise SystemExit(f"nothing listening on port {port}")


def fresh_database(name: str, *, create: bool = True) -> str:
    """Drop the run's database and (unless create=False) make it again, empty."""
    import psycopg

    if not re.fullmatch(r"test_\w*chaos\w*", name):
        raise SystemExit("the chaos run only (re)creates databases named test_…chaos…")
    with psycopg.connect(PG_ADMIN, autocommit=True) as conn:
        conn.execute(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')
        if create:
            conn.execute(f'CREATE DATABASE "{name}"')
    return PG_ADMIN.rsplit("/", 1)[0] + "/" + name


# ---------------------------------------------------------------------------------------------
# The run
# ---------------------------------------------------------------------------------------------


def main(argv: list[str] | None = None) -> int:
    args = parse_args(argv)
    # a SIGTERM (CI timeout, Ctrl-C in make) must still stop the processes we started
    signal.signal(signal.SIGTERM, lambda *_: sys.exit(143))
    workdir = Path(tempfile.mkdtemp(prefix="reminders-chaos-"))
    code = 1
    try:
        code = _in_workdir(args, workdir)
        return code
    finally:
        # every way out (success, failure, an exception, Ctrl-C, SIGTERM): the logs of a failed
        # run are printed, then the folder goes unless --keep-logs; a CI machine or a laptop
        # running `make chaos` often must not fill /tmp with Redis dumps and logs
        if code != 0:
            _print_log_tails(workdir)
        if args.keep_logs:
            print(f"logs kept in {workdir}", flush=True)
        else:
            shutil.rmtree(workdir, ignore_errors=True)


def _print_log_tails(workdir: Path, lines: int = 30) -> None:
    for log in sorted(workdir.glob("*.log")):
        tail = log.read_text(errors="replace").splitlines()[-lines:]
        if tail:
            # stderr: stdout ends with the JSON report that callers parse
            print(f"--- last lines of {log.name}", *tail, sep="\n", file=sys.stderr,
                  flush=True)


def _in_workdir(args: argparse.Namespace, workdir: Path) -> int:
    """The run with its processes, database and SMTP sink; each is stopped on the way out."""
    started = time.time()
    redis = RedisServer(free_port(), workdir)
    refuse = refused_share(args.permanent)
    handler = FlakyHandler(transient=args.transient, refuse=refuse, seed=7)
    sink = SmtpSink(handler)
    database_url = fresh_database(args.database)
    env = {
        **os.environ,
        "DATABASE_URL": database_url,
        "REDIS_URL": f"redis://127.0.0.1:{redis.port}/0",
        "SMTP_URL": sink.url,
        "MAIL_FROM": "tracker@chaos.example",
        "INSTANCE_DIR": str(workdir),
        "SECRET_KEY": "chaos-secret",
        "REMINDER_BEAT_SECONDS": str(args.beat_seconds),
        "REMINDER_SMTP_TIMEOUT": "5",  # the whole conversation
        "REMINDER_STUCK_SECONDS": "5",  # margin past the conversation deadline
        "REMINDER_BACKOFF_BASE": "1",
        "REMINDER_BACKOFF_MAX": "4",
        "REMINDER_BATCH_SIZE": "20",
        "REMINDER_MAX_FANOUT": "8",
    }
    os.environ.update(env)  # config.Config reads the environment when first imported
    celery = [_bin("celery"), "-A", "worker"]
    worker = Proc([*celery, "worker", "--loglevel", "WARNING", "--concurrency",
                   str(args.concurrency), "--without-gossip", "--without-mingle",
                   "--without-heartbeat"], env, workdir / "worker.log")
    beat = Proc([*celery, "beat", "--loglevel", "WARNING", "--schedule",
                 str(workdir / "celerybeat-schedule")], env, workdir / "beat.log")
    procs = {"worker": worker, "beat": beat, "redis": redis}
    sink_open = False
    try:
        redis.start()
        sink.__enter__()
        sink_open = True
        return _run(args, started, env, procs, handler, refuse, workdir)
    finally:
        for proc in (beat, worker, redis):
            proc.stop()
        if sink_open:
            sink.__exit__(None, None, None)
        if args.drop:
            fresh_database(args.database, create=False)


def _run(args, started, env, procs, handler, refuse, workdir) -> int:
    from sqlalchemy import func, update

    import config
    from tracker import create_app
    from tracker.clock import today
    from tracker.extensions import db
    from tracker.ladder.tasks import recompute_all
    from tracker.reminders.defaults import seed_rules
    from tracker.reminders.models import Reminder, ReminderRule
    from tracker.reminders.tasks import sweep_now

    subprocess.run([_bin("flask"), "--app", "tracker", "db", "upgrade"], cwd=ROOT, env=env,
                   check=True, capture_output=True)

    class ChaosConfig(config.Config):
        FAST_PASSWORD_HASHES = True

    app = create_app(ChaosConfig)
    with app.app_context():
        seed_rules()
        db.session.execute(update(ReminderRule).values(enabled=False))
        web_firms = _seed(db, args.n, args.web, today())
        db.session.commit()
        autovacuum = _analyze(db)
        # The seed went around the services (Core inserts): derive rungs, transitions and
        # stored results the product's way, so the integrity check at the end judges the
        # run, not the shortcut. No rule is enabled yet: the after-save sweep makes nothing.
        recomputed = recompute_all()
        _analyze(db)
        # only the certificate-expiry rule, to contacts only: one reminder per firm
        db.session.execute(update(ReminderRule).where(ReminderRule.code == "hnte_expiry")
                           .values(enabled=True, recipients=["contacts"]))
        db.session.commit()
    print(f"schema from migrations; seeded {args.n} firms (+{args.web} for the web part) and "
          f"recomputed {recomputed} in {time.time() - started:.1f}s (autovacuum {autovacuum})",
          flush=True)

    # Two sweeps at once: the UNIQUE key must make the second insert nothing.
    results: list[dict] = []

    def one_sweep():
        with app.app_context():
            results.append(sweep_now())
            db.session.remove()

    threads = [threading.Thread(target=one_sweep) for _ in range(2)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    inserted = [sum(r["inserted"].values()) for r in results]
    with app.app_context():
        expected = _expected_rows(db)
        if args.sabotage == "drop":  # a bug that marks a row sent without handing it over
            victim = min(rid for rid, row in expected.items() if not refuse(row[0]))
            db.session.execute(update(Reminder).where(Reminder.id == victim)
                               .values(status="sent", sent_at=func.now()))
            db.session.commit()
    print(f"concurrent sweeps inserted {inserted} -> {len(expected)} rows", flush=True)
    sweep_ok = len(expected) == args.n and sum(inserted) == args.n

    worker, beat = procs["worker"], procs["beat"]
    worker.start()
    beat.start()
    if args.outage:
        handler.outage_until = time.time() + args.outage
    kill_times: list[float] = []
    #: rows whose SMTP conversation was in progress at a kill: the crash window
    crash_window: set[int] = set()
    kill_at = [int(args.n * (i + 1) / (args.kills + 2)) for i in range(args.kills)]
    phase_started = time.time()
    timed_out = False
    restarts = {"beat": 0}
    fewest_left, progressed_at = len(expected) + 1, time.time()
    while True:
        accepted = len(handler.snapshot())
        if kill_at and accepted >= kill_at[0]:
            kill_at.pop(0)
            worker.kill()
            kill_times.append(time.time())
            with app.app_context():
                crash_window |= _in_conversation(db, handler, kill_times[-1])
                db.session.rollback()
            print(f"  SIGKILL worker at {accepted} accepted", flush=True)
            time.sleep(0.5)
            worker.start()
        if not beat.alive():  # beat must survive on its own; count it if it did not
            restarts["beat"] += 1
            beat.start()
        with app.app_context():
            left = _unfinished(db, expected)
            db.session.remove()
        if left == 0 and not kill_at:
            break
        if left < fewest_left:
            fewest_left, progressed_at = left, time.time()
        if time.time() - phase_started > args.timeout:
            timed_out = True
            print(f"timed out with {left} reminders unfinished", flush=True)
            break
        if time.time() - progressed_at > args.stall:
            timed_out = True
            print(f"timed out: no reminder finished for {args.stall:g} s, {left} unfinished",
                  flush=True)
            break
        time.sleep(0.5)
    delivery_seconds = time.time() - phase_started

    web = {"requests": 0, "max_request_seconds": 0.0, "reminders_made": 0}
    if args.web and not timed_out:
        web = _web_with_redis_down(app, db, env, procs, web_firms, workdir, restarts)
        with app.app_context():
            web_rows = _expected_rows(db, like="web%")
        web["reminders_made"] = len(web_rows)
        expected.update(web_rows)
        wait_until = time.time() + max(60.0, args.timeout - (time.time() - phase_started))
        while True:
            with app.app_context():
                left = _unfinished(db, expected)
                db.session.remove()
            if left == 0:
                break
            if time.time() > wait_until:
                timed_out = True
                print(f"timed out after the web part with {left} unfinished", flush=True)
                break
            time.sleep(0.5)

    with app.app_context():
        report = account(_ledger(db, expected), expected, handler.snapshot(), refuse,
                         crash_window)
        db.session.remove()
    web_ok = (not args.web) or (web["max_request_seconds"] < WEB_LATENCY_BAR
                                and web["reminders_made"] == args.web + WARM_SAVES)
    report.update(
        n=args.n, sweep_concurrent_inserted=inserted, sweep_ok=sweep_ok, timed_out=timed_out,
        delivery_seconds=round(delivery_seconds, 1), kills=len(kill_times),
        restarts=restarts, smtp_attempts=handler.attempts, smtp_451=handler.refused_transient,
        smtp_550=handler.refused_permanent, web=web, web_ok=web_ok,
        seconds=round(time.time() - started, 1),
    )
    report["integrity"] = integrity = integrity_check(env)
    reasons = verdict(report, kills=len(kill_times), concurrency=args.concurrency)
    if integrity["exit"] != 0:
        reasons.append(f"integrity check: {integrity['violations']} violation(s)")
    if not sweep_ok:
        reasons.append("the first sweep did not make exactly N rows")
    if not web_ok:
        reasons.append("web part: a save was too slow or its reminder was not made")
    report["fail_reasons"] = reasons
    print(json.dumps(report, indent=2, ensure_ascii=False))
    print(f"N={report['expected']} delivered={report['delivered']} lost={report['lost']} "
          f"unfinished={report['unfinished']} "
          f"duplicates={report['duplicates']} excused={report['excused']} "
          f"failed={report['failed']} expired={report['expired']} "
          f"seconds={report['seconds']} -> {'FAIL' if reasons else 'OK'}", flush=True)
    return 1 if reasons else 0


def integrity_check(env: dict[str, str]) -> dict:
    """`flask check --json` on the run's database: the product's own invariants, after it all."""
    done = subprocess.run([_bin("flask"), "--app", "tracker", "check", "--json"], cwd=ROOT,
                          env=env, capture_output=True, text=True)
    try:
        found = json.loads(done.stdout.strip().splitlines()[-1])
    except (ValueError, IndexError):
        return {"exit": done.returncode or 1, "violations": None, "ran": False,
                "stderr": done.stderr[-2000:]}
    violations = found.get("violations") or []
    print(f"integrity check: exit {done.returncode}, {len(violations)} violation(s) over "
          f"{len(found.get('checked') or {})} invariants", flush=True)
    return {"exit": done.returncode, "ran": True, "violations": len(violations),
            "invariants": len(found.get("checked") or {}), "first": violations[:10]}


def _seed(db, n: int, web: int, day) -> list[int]:
    """N firms with one contact and an HNTE certificate expiring in 20 days; `web` without."""
    from sqlalchemy import select

    from tracker.accounts import services as accounts
    from tracker.enterprises.models import Contact, Enterprise
    from tracker.ladder.models import Qualification

    officer = accounts.create_user("officer@chaos.example", "chaos-pass-2026", "bureau",
                                   name="Chaos Officer")
    db.session.flush()
    expires = day + timedelta(days=20)
    firms = [{"uscc": f"91120116{i:09d}C", "name": f"混沌测试企业{i:06d}", "zone": "hitech",
              "status": "active", "officer_id": officer.id} for i in range(n + web)]
    db.session.execute(Enterprise.__table__.insert(), firms)
    ids = list(db.session.scalars(select(Enterprise.id).order_by(Enterprise.id)))
    db.session.execute(Qualification.__table__.insert(), [
        {"enterprise_id": eid, "kind": "hnte", "granted_on": expires.replace(year=expires.year - 3),
         "valid_until": expires, "number": f"GR2023120{eid:05d}", "source": "import",
         "version": 1} for eid in ids])
    db.session.execute(Contact.__table__.insert(), [
        {"enterprise_id": eid, "name": f"联系人{eid}", "email": f"c{eid}@firm.chaos.example",
         "receives_reminders": True, "locale": "en" if eid % 10 == 0 else "zh_CN"}
        for eid in ids[:n]])
    return ids[n:]


def _analyze(db) -> str:
    """ANALYZE after the Core seed and the recompute: what autovacuum does within a minute of a
    bulk load in production. The seed bypasses the importer and some servers (CI, this
    test machine) run with autovacuum off; planned without statistics the sweep's joins go
    quadratic and the run measures the planner, not delivery. Returns autovacuum's setting."""
    from sqlalchemy import text

    db.session.commit()
    db.session.execute(text("ANALYZE"))
    db.session.commit()
    return db.session.scalar(text("SHOW autovacuum"))


def _expected_rows(db, like: str | None = None) -> dict[int, tuple[str, str, str]]:
    """id -> (address, firm name, due date): what the matching of accepted mail checks."""
    from sqlalchemy import select

    from tracker.enterprises.models import Enterprise
    from tracker.reminders.models import Reminder

    query = select(Reminder.id, Reminder.to_address, Enterprise.name,
                   Reminder.occurrence_on).join(Enterprise, Enterprise.id == Reminder.enterprise_id)
    if like:
        query = query.where(Reminder.to_address.like(like))
    return {rid: (to, name, due.isoformat()) for rid, to, name, due in db.session.execute(query)}


def _ledger(db, expected) -> dict[int, str]:
    from sqlalchemy import select

    from tracker.reminders.models import Reminder

    return dict(db.session.execute(select(Reminder.id, Reminder.status)).all())


def _unfinished(db, expected) -> int:
    from sqlalchemy import func, select

    from tracker.reminders.models import Reminder

    return db.session.scalar(select(func.count(Reminder.id)).where(
        Reminder.status.in_(("pending", "sending")))) or 0


def _in_conversation(db, handler, killed_at: float) -> set[int]:
    """Rows claimed at the kill whose DATA the sink had seen after the claim: in progress."""
    from sqlalchemy import select

    from tracker.reminders.models import Reminder

    claimed = {rid: at.timestamp() for rid, at in db.session.execute(
        select(Reminder.id, Reminder.claimed_at).where(Reminder.status == "sending"))}
    window: set[int] = set()
    for mid, at in handler.seen():
        match = _MID.match(mid)
        if match and int(match.group(1)) in claimed and \
                claimed[int(match.group(1))] - 1 <= at <= killed_at:
            window.add(int(match.group(1)))
    return window


def account(ledger: dict[int, str], expected: dict[int, tuple[str, str, str]], accepted,
            refuse, crash_window: set[int]) -> dict:
    """Compare what the sink accepted with what should have been delivered (see the module)."""
    copies: dict[int, int] = {}
    mismatched: list[str] = []
    unexpected: list[str] = []
    for msg in accepted:
        match = _MID.match(msg.message_id)
        rid = int(match.group(1)) if match else None
        if rid not in expected:
            unexpected.append(msg.message_id)
            continue
        address, firm, due = expected[rid]
        subject = str(msg.message()["Subject"])
        if msg.rcpt != [address] or firm not in subject or due not in subject:
            mismatched.append(f"{msg.message_id} to {msg.rcpt}: {subject}")
            continue
        copies[rid] = copies.get(rid, 0) + 1
    lost, unfinished, refused_not_failed, refused_rows = [], [], [], 0
    for rid, (address, _firm, _due) in expected.items():
        status = ledger.get(rid)
        if status in ("pending", "sending") and rid not in copies:
            unfinished.append(rid)  # a timed-out run: not lost yet, but not delivered either
        elif refuse(address):
            refused_rows += 1
            if status != "failed" or rid in copies:
                refused_not_failed.append(rid)
        elif rid not in copies or status != "sent":
            lost.append(rid)
    duplicates = {rid: n - 1 for rid, n in copies.items() if n > 1}
    excused = sum(extra for rid, extra in duplicates.items() if rid in crash_window)
    for rid, extra in duplicates.items():
        if rid not in crash_window:
            print(f"  duplicate outside the crash window: reminder {rid}, {extra + 1} copies",
                  flush=True)
    for rid in lost[:10]:
        print(f"  lost: reminder {rid} is {ledger.get(rid)!r}, sink copies {copies.get(rid, 0)}",
              flush=True)
    statuses: dict[str, int] = {}
    for rid in expected:
        statuses[ledger.get(rid, "missing")] = statuses.get(ledger.get(rid, "missing"), 0) + 1
    return {
        "expected": len(expected), "statuses": statuses,
        "delivered": len(copies), "lost": len(lost), "unfinished": len(unfinished),
        "duplicates": sum(duplicates.values()), "excused": excused,
        "duplicates_outside_crash_window": sum(duplicates.values()) - excused,
        "crash_window_rows": len(crash_window),
        "failed": statuses.get("failed", 0), "expired": statuses.get("expired", 0),
        "refused_recipients": refused_rows, "refused_not_failed": len(refused_not_failed),
        "mismatched": len(mismatched), "unexpected": len(unexpected),
    }


def verdict(report: dict, *, kills: int, concurrency: int) -> list[str]:
    """Every reason the run fails; empty means OK."""
    reasons = []
    if report.get("timed_out"):
        reasons.append("timed out")
    if report["lost"]:
        reasons.append(f"{report['lost']} lost")
    if report.get("unfinished"):
        reasons.append(f"{report['unfinished']} still pending or sending (undelivered)")
    if report["duplicates_outside_crash_window"]:
        reasons.append(f"{report['duplicates_outside_crash_window']} duplicates outside the "
                       "crash window")
    if report["excused"] > kills * concurrency:
        reasons.append("more excused duplicates than conversations a kill can interrupt")
    if report["refused_not_failed"]:
        reasons.append(f"{report['refused_not_failed']} refused recipients not `failed`")
    if report["mismatched"] or report["unexpected"]:
        reasons.append("accepted mail that matches no row by Message-ID, recipient and subject")
    if report["delivered"] == 0 or report["refused_recipients"] * 2 > report["expected"]:
        reasons.append("the run proves no delivery (nothing delivered or most refused)")
    return reasons


# ---------------------------------------------------------------------------------------------
# The web part: gunicorn, real HTTP, Redis stopped
# ---------------------------------------------------------------------------------------------


class _Browser:
    def __init__(self, base: str) -> None:
        self.base = base
        self.opener = urllib.request.build_opener(
            urllib.request.HTTPCookieProcessor(http.cookiejar.CookieJar()), _NoRedirect())

    def request(self, path: str, data: dict | None = None) -> tuple[int, str]:
        body = urllib.parse.urlencode(data).encode() if data is not None else None
        try:
            with self.opener.open(self.base + path, data=body, timeout=30) as response:
                return response.status, response.read().decode()
        except urllib.error.HTTPError as exc:
            return exc.code, exc.read().decode(errors="replace")


def _first_page(browser: _Browser, path: str, within: float) -> str:
    """The first answer once gunicorn's workers have booted (the port opens before they can
    answer; on a loaded machine booting took over 30 s). Boot time is not the bar."""
    deadline = time.time() + within
    while True:
        try:
            status, page = browser.request(path)
            if status == 200:
                return page
        except (OSError, TimeoutError):
            if time.time() > deadline:
                raise
        if time.time() > deadline:
            raise SystemExit(f"gunicorn did not answer {path} within {within:g} s")
        time.sleep(1)


class _NoRedirect(urllib.request.HTTPRedirectHandler):
    def redirect_request(self, *args, **kwargs):
        return None


def _web_with_redis_down(app, db, env, procs, firm_ids, workdir, restarts) -> dict:
    """Save contacts over HTTP while Redis is stopped; then bring it back."""
    port = free_port()
    web = Proc([_bin("gunicorn"), "-w", "2", "-b", f"127.0.0.1:{port}", "tracker:create_app()"],
               env, workdir / "gunicorn.log")
    web.start()
    try:
        _wait_port(port, 60)
        browser = _Browser(f"http://127.0.0.1:{port}")
        page = _first_page(browser, "/login", GUNICORN_BOOT_SECONDS)
        token = re.search(r'name="csrf_token"[^>]*value="([^"]+)"', page).group(1)
        status, _ = browser.request("/login", {"email": "officer@chaos.example",
                                               "password": "chaos-pass-2026", "csrf_token": token})
        assert status == 302, status
        for eid in firm_ids[:4]:  # both gunicorn workers past their first request
            _status, detail = browser.request(f"/enterprises/{eid}")
        form_token = re.search(r'name="contact-csrf_token"[^>]*value="([^"]+)"', detail).group(1)
        # a first save per gunicorn worker while Redis is up: the bar is about Redis being down,
        # not about a cold process (these reminders are expected and accounted for too)
        for eid in firm_ids[:WARM_SAVES]:
            browser.request(f"/enterprises/{eid}/contacts", {
                "contact-csrf_token": form_token, "contact-name": f"预热联系人{eid}",
                "contact-email": f"webwarm{eid}@firm.chaos.example",
                "contact-receives_reminders": "y", "contact-locale": "zh_CN"})
        procs["redis"].stop()
        durations = []
        for eid in firm_ids:
            t0 = time.perf_counter()
            status, _ = browser.request(f"/enterprises/{eid}/contacts", {
                "contact-csrf_token": form_token, "contact-name": f"网页联系人{eid}",
                "contact-email": f"web{eid}@firm.chaos.example",
                "contact-receives_reminders": "y", "contact-locale": "zh_CN"})
            durations.append(time.perf_counter() - t0)
            assert status == 302, status
    finally:
        web.stop()
    slowest = sorted(range(len(durations)), key=durations.__getitem__)[-3:]
    print(f"redis down: {len(durations)} saves over HTTP, slowest "
          f"{', '.join(f'#{i} {durations[i]:.3f}s' for i in reversed(slowest))}", flush=True)
    procs["redis"].start()
    procs["worker"].kill()  # its broker connection went away with Redis; start afresh
    procs["worker"].start()
    if not procs["beat"].alive():
        restarts["beat"] += 1
        procs["beat"].start()
    return {"requests": len(durations), "max_request_seconds": round(max(durations), 3),
            "mean_request_seconds": round(sum(durations) / len(durations), 3)}


if __name__ == "__main__":
    sys.exit(main())
