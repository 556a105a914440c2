"""Reliability run for reminders: real PostgreSQL, real Redis, real Celery worker, real SMTP.

N due reminders are delivered while the worker is SIGKILLed several times, the sweep runs twice
concurrently and the SMTP server refuses 10% of attempts transiently and 1% of messages for
good. Then Redis is stopped while records are saved through the web app: every request must
answer in under 2 s, and every reminder must go out once Redis is back.

Prints delivered, duplicates, lost, failed and seconds; exits 1 on any loss or any duplicate
outside the measured crash window (SMTP accepted, worker killed before our commit).

    python bench/chaos.py --n 20000          # locally
    python bench/chaos.py --n 300 --web 50   # what the slow test runs
"""

from __future__ import annotations

import argparse
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
from datetime import timedelta
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from bench.smtpsink import FlakyHandler, SmtpSink, free_port  # noqa: E402

PG_ADMIN = os.environ.get("CHAOS_PG_ADMIN", "postgresql://postgres@127.0.0.1:5432/postgres")


def parse_args(argv: list[str] | None = None) -> argparse.Namespace:
    p = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    p.add_argument("--n", type=int, default=20000, help="due reminders to deliver")
    p.add_argument("--kills", type=int, default=3, help="times the worker is SIGKILLed")
    p.add_argument("--transient", type=float, default=0.10, help="share of 451 replies")
    p.add_argument("--permanent", type=float, default=0.01, help="share of 550 messages")
    p.add_argument("--web", type=int, default=200, help="records saved while Redis is down")
    p.add_argument("--database", default="test_reminders_chaos")
    p.add_argument("--drop", action="store_true", help="drop the database when finished")
    p.add_argument("--concurrency", type=int, default=2)
    p.add_argument("--timeout", type=float, default=1800, help="give up after this many s")
    return p.parse_args(argv)


# ---------------------------------------------------------------------------------------------
# Processes we own: a Redis server on a free port and the Celery worker
# ---------------------------------------------------------------------------------------------


class RedisServer:
    def __init__(self, port: int, workdir: Path) -> None:
        self.port, self.workdir, self.proc = port, workdir, None

    def start(self) -> None:
        binary = shutil.which("redis-server")
        if binary is None:
            raise SystemExit("redis-server is not installed")
        self.proc = subprocess.Popen(
            [binary, "--port", str(self.port), "--bind", "127.0.0.1", "--save", "",
             "--appendonly", "no", "--dir", str(self.workdir)],
            stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
        _wait_port(self.port)

    def stop(self) -> None:
        if self.proc and self.proc.poll() is None:
            self.proc.terminate()
            self.proc.wait(10)
        self.proc = None


class Worker:
    def __init__(self, env: dict[str, str], concurrency: int, log: Path) -> None:
        self.env, self.concurrency, self.log, self.proc = env, concurrency, log, None

    def start(self) -> None:
        celery = str(Path(sys.executable).with_name("celery"))
        self.proc = subprocess.Popen(
            [celery, "-A", "worker", "worker", "--loglevel", "WARNING", "--concurrency",
             str(self.concurrency), "--without-gossip", "--without-mingle",
             "--without-heartbeat"],
            cwd=ROOT, env=self.env, stdout=self.log.open("ab"), stderr=subprocess.STDOUT,
            start_new_session=True)  # its own process group: a kill takes the children too

    def kill(self) -> None:
        if self.proc and self.proc.poll() is None:
            os.killpg(self.proc.pid, signal.SIGKILL)
            self.proc.wait(10)

    def stop(self) -> None:
        if self.proc and self.proc.poll() is None:
            os.killpg(self.proc.pid, signal.SIGTERM)
            try:
                self.proc.wait(15)
            except subprocess.TimeoutExpired:
                self.kill()


def _wait_port(port: int, timeout: float = 10) -> None:
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

    if not re.fullmatch(r"test_reminders_chaos\w*", name):
        raise SystemExit("the chaos run only creates databases named test_reminders_chaos*")
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
    # a SIGTERM (CI timeout, Ctrl-C in make) must still stop the worker and Redis we started
    signal.signal(signal.SIGTERM, lambda *_: sys.exit(143))
    started = time.time()
    workdir = Path(tempfile.mkdtemp(prefix="reminders-chaos-"))
    redis = RedisServer(free_port(), workdir)
    handler = FlakyHandler(transient=args.transient, permanent=args.permanent, seed=7)
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
        "REMINDER_STUCK_SECONDS": "12",  # well above SMTP_TIMEOUT even on a loaded CPU
        "REMINDER_SMTP_TIMEOUT": "3",
        "REMINDER_BACKOFF_BASE": "1",
        "REMINDER_BACKOFF_MAX": "4",
        "REMINDER_MAX_ATTEMPTS": "12",
        "REMINDER_BATCH_SIZE": "20",
        "REMINDER_MAX_FANOUT": "8",
    }
    os.environ.update(env)  # config.Config reads the environment when first imported
    worker = Worker(env, args.concurrency, workdir / "worker.log")
    redis.start()
    sink.__enter__()
    try:
        return _run(args, started, env, redis, worker, handler, workdir)
    finally:
        worker.stop()
        redis.stop()
        sink.__exit__(None, None, None)
        if args.drop:
            fresh_database(args.database, create=False)


def _run(args, started, env, redis, worker, handler, workdir) -> int:
    from sqlalchemy import func, select, update

    import config
    from tracker import create_app
    from tracker.clock import today
    from tracker.extensions import db
    from tracker.reminders.defaults import seed_rules
    from tracker.reminders.models import Reminder, ReminderRule
    from tracker.reminders.tasks import sweep_now

    class ChaosConfig(config.Config):
        WTF_CSRF_ENABLED = True
        FAST_PASSWORD_HASHES = True

    app = create_app(ChaosConfig)
    with app.app_context():
        db.create_all()
        seed_rules()
        # only the certificate-expiry rule, to contacts only: one reminder per firm
        db.session.execute(update(ReminderRule).values(enabled=False))
        db.session.execute(update(ReminderRule).where(ReminderRule.code == "hnte_expiry")
                           .values(enabled=True, recipients=["contacts"]))
        officer_id, web_firms = _seed(db, args.n, args.web, today())
        db.session.commit()

    worker.start()
    print(f"seeded {args.n} firms (+{args.web} for the web part) in "
          f"{time.time() - started:.1f}s; worker starting", flush=True)

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
        total_rows = db.session.scalar(select(func.count(Reminder.id)))
    print(f"concurrent sweeps inserted {inserted} -> {total_rows} rows", flush=True)
    sweep_ok = total_rows == args.n and sum(inserted) == args.n

    kill_times: list[float] = []
    #: reminders claimed ("sending") when a worker died: the only rows SMTP may have accepted
    #: without our commit following, i.e. the crash window the design allows
    in_flight_at_kill: dict[int, float] = {}
    kill_at = [int(args.n * (i + 1) / (args.kills + 2)) for i in range(args.kills)]
    phase_started = time.time()
    last_beat = 0.0
    while True:
        accepted = len(handler.snapshot())
        if kill_at and accepted >= kill_at[0]:
            kill_at.pop(0)
            worker.kill()
            time.sleep(0.2)  # the pool's children die with the group; let the kernel finish
            kill_times.append(time.time())
            with app.app_context():
                for (rid,) in db.session.execute(
                        select(Reminder.id).where(Reminder.status == "sending")):
                    in_flight_at_kill.setdefault(rid, kill_times[-1])
                db.session.rollback()
            print(f"  SIGKILL worker at {accepted} accepted", flush=True)
            time.sleep(0.5)
            worker.start()
        if time.time() - last_beat > 2:
            last_beat = time.time()
            with app.app_context():
                _beat(db)
                done = _unfinished(db) == 0
            if done and not kill_at:
                break
        if time.time() - phase_started > args.timeout:
            print("timed out waiting for delivery", flush=True)
            break
        time.sleep(0.1)
    delivery_seconds = time.time() - phase_started

    web = _web_with_redis_down(app, db, redis, worker, officer_id, web_firms, args)

    with app.app_context():
        report = _account(db, handler, in_flight_at_kill)
    report.update(
        n=args.n, sweep_concurrent_inserted=inserted, sweep_ok=sweep_ok,
        delivery_seconds=round(delivery_seconds, 1), kills=len(kill_times),
        smtp_attempts=handler.attempts, smtp_451=handler.refused_transient,
        smtp_550=handler.refused_permanent, web=web,
        seconds=round(time.time() - started, 1),
    )
    print(json.dumps(report, indent=2, ensure_ascii=False))
    ok = (sweep_ok and report["lost"] == 0 and report["duplicates_outside_crash_window"] == 0
          and report["sent_not_accepted"] == 0 and web["max_request_seconds"] < 2
          and web["delivered"] == args.web)
    print(f"delivered={report['delivered']} duplicates={report['duplicates']} "
          f"(in crash window {report['duplicates_in_crash_window']}) lost={report['lost']} "
          f"failed={report['failed']} seconds={report['seconds']} -> {'OK' if ok else 'FAIL'}")
    return 0 if ok else 1


def _seed(db, n: int, web: int, day):
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
    return officer.id, ids[n:]


def _beat(db) -> None:
    """What celery beat does every few minutes, compressed: reap, then sweep and fan out."""
    from tracker.reminders.tasks import reap, sweep_now

    reap.run()
    sweep_now()
    db.session.remove()


def _unfinished(db) -> int:
    from sqlalchemy import func, select

    from tracker.reminders.models import Reminder

    return db.session.scalar(select(func.count(Reminder.id)).where(
        Reminder.status.in_(("pending", "sending"))))


def _web_with_redis_down(app, db, redis, worker, officer_id, firm_ids, args) -> dict:
    """Save contacts through the web app while Redis is stopped; then bring it back."""
    if not firm_ids:
        return {"requests": 0, "max_request_seconds": 0.0, "delivered": 0}
    redis.stop()
    client, form_token = _login(app, firm_ids[0])
    import logging

    logging.getLogger("tracker.celery_app").setLevel(logging.ERROR)
    durations = []
    for eid in firm_ids:
        t0 = time.perf_counter()
        response = client.post(f"/enterprises/{eid}/contacts", data={
            "contact-csrf_token": form_token, "contact-name": f"网页联系人{eid}",
            "contact-email": f"web{eid}@firm.chaos.example", "contact-receives_reminders": "y",
            "contact-locale": "zh_CN"})
        durations.append(time.perf_counter() - t0)
        assert response.status_code == 302, response.status_code
    print(f"redis down: {len(durations)} saves, slowest {max(durations):.3f}s", flush=True)
    hung = _hung_redis_probe(_login, firm_ids[:3])
    app.extensions["celery"].set_current()
    app.extensions["celery"].set_default()
    with app.app_context():
        from sqlalchemy import func, select

        from tracker.reminders.models import Reminder

        made = db.session.scalar(select(func.count(Reminder.id)).where(
            Reminder.to_address.like("web%")))
    redis.start()
    worker.kill()  # its broker connection went away with Redis; start afresh
    worker.start()
    deadline = time.time() + 300
    while time.time() < deadline:
        with app.app_context():
            _beat(db)
            left = _unfinished(db)
        if left == 0:
            break
        time.sleep(2)
    with app.app_context():
        from sqlalchemy import func, select

        from tracker.reminders.models import Reminder

        delivered = db.session.scalar(select(func.count(Reminder.id)).where(
            Reminder.to_address.like("web%"), Reminder.status.in_(("sent", "failed"))))
    return {"requests": len(durations), "max_request_seconds": round(max(durations), 3),
            "hung_redis_request_seconds": hung,
            "mean_request_seconds": round(sum(durations) / len(durations), 3),
            "reminders_made_while_down": made, "delivered": delivered}


def _hung_redis_probe(login, firm_ids) -> list[float]:
    """Informational: a Redis that accepts TCP but never answers (SIGSTOP), a few saves.

    These requests wait for the broker's socket_timeout (config.py), so they are reported,
    not judged; a refused connection (the case above) costs milliseconds.
    """
    import config
    from tracker import create_app

    port = free_port()
    proc = subprocess.Popen(["redis-server", "--port", str(port), "--save", "",
                             "--appendonly", "no"], stdout=subprocess.DEVNULL)
    _wait_port(port)
    os.kill(proc.pid, signal.SIGSTOP)

    class HungConfig(config.Config):
        WTF_CSRF_ENABLED = True
        FAST_PASSWORD_HASHES = True
        CELERY = config._celery_settings(f"redis://127.0.0.1:{port}/0")

    app = create_app(HungConfig)
    timings = []
    try:
        client, form_token = login(app, firm_ids[0])
        for eid in firm_ids:
            t0 = time.perf_counter()
            client.post(f"/enterprises/{eid}/contacts", data={
                "contact-csrf_token": form_token, "contact-name": f"挂起联系人{eid}",
                "contact-email": f"hung{eid}@firm.chaos.example",
                "contact-receives_reminders": "y", "contact-locale": "zh_CN"})
            timings.append(round(time.perf_counter() - t0, 3))
    finally:
        os.kill(proc.pid, signal.SIGCONT)
        proc.terminate()
        proc.wait(10)
    print(f"hung redis (SIGSTOP): save timings {timings}", flush=True)
    return timings


def _login(app, enterprise_id):
    """A logged-in test client of `app` and the contact form's CSRF token."""
    client = app.test_client()
    login_page = client.get("/login").get_data(as_text=True)
    token = re.search(r'name="csrf_token"[^>]*value="([^"]+)"', login_page).group(1)
    response = client.post("/login", data={"email": "officer@chaos.example",
                                           "password": "chaos-pass-2026", "csrf_token": token})
    assert response.status_code == 302, response.status_code
    detail = client.get(f"/enterprises/{enterprise_id}").get_data(as_text=True)
    return client, re.search(r'name="contact-csrf_token"[^>]*value="([^"]+)"', detail).group(1)


def _account(db, handler, in_flight_at_kill: dict[int, float]) -> dict:
    """Compare the ledger with what the SMTP server accepted.

    A duplicate is inside the crash window when its reminder was mid-send (claimed, not yet
    committed as sent) at the moment a worker was killed: SMTP may have taken the message while
    our commit never happened. Any other duplicate is a bug.
    """
    from sqlalchemy import select

    from tracker.reminders.models import Reminder

    rows = db.session.execute(select(Reminder.id, Reminder.status, Reminder.last_error)).all()
    accepted = handler.snapshot()
    first_seen: dict[str, float] = {}
    copies: dict[str, int] = {}
    for a in accepted:
        copies[a.message_id] = copies.get(a.message_id, 0) + 1
        first_seen.setdefault(a.message_id, a.at)
    ids_by_reminder = {int(re.match(r"<reminder-(\d+)\.", mid).group(1)): mid for mid in copies}
    duplicates = {mid: n - 1 for mid, n in copies.items() if n > 1}
    in_window = 0
    for mid, extra in duplicates.items():
        rid = int(re.match(r"<reminder-(\d+)\.", mid).group(1))
        if rid in in_flight_at_kill:
            in_window += extra
        else:
            print(f"  duplicate outside the crash window: reminder {rid}, {extra + 1} copies, "
                  f"first accepted at {first_seen[mid]:.3f}", flush=True)
    status = {rid: st for rid, st, _err in rows}
    failed = [rid for rid, st, _ in rows if st == "failed"]
    lost = [rid for rid, st in status.items()
            if st in ("pending", "sending") or (st == "sent" and rid not in ids_by_reminder)]
    return {
        "reminders": len(rows),
        "delivered": len(copies),
        "duplicates": sum(duplicates.values()),
        "duplicates_in_crash_window": in_window,
        "duplicates_outside_crash_window": sum(duplicates.values()) - in_window,
        "failed": len(failed),
        "failed_permanent_550": sum(1 for _rid, st, err in rows
                                    if st == "failed" and err and "550" in err),
        "lost": len(lost),
        "sent_not_accepted": sum(1 for rid, st in status.items()
                                 if st == "sent" and rid not in ids_by_reminder),
    }


if __name__ == "__main__":
    sys.exit(main())
