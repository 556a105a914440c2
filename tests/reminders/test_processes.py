"""`make run` as a fresh clone runs it: any PORT and INSTANCE_DIR, a worker crash that takes
nothing else down, and jobs that recover on the embedded SQLite broker without redelivery."""

from __future__ import annotations

import os
import signal
import sqlite3
import subprocess
import sys
import time
import urllib.request
from pathlib import Path

import pytest

from bench.smtpsink import FlakyHandler, SmtpSink, free_port

ROOT = Path(__file__).resolve().parents[2]

pytestmark = pytest.mark.slow

_OWN_SETTINGS = ("DATABASE_URL", "REDIS_URL", "SMTP_URL", "BASE_URL", "INSTANCE_DIR", "PORT",
                 "MAIL_DIR", "UPLOAD_DIR", "FLASK_APP")


def _clean_env(**extra: str) -> dict[str, str]:
    env = {k: v for k, v in os.environ.items() if k not in _OWN_SETTINGS}
    return {**env, **extra}


def test_base_url_follows_port_unless_set():
    probe = [sys.executable, "-c", "import config; print(config.Config.BASE_URL)"]
    out = subprocess.run(probe, cwd=ROOT, env=_clean_env(PORT="5125"), capture_output=True,
                         text=True, check=True).stdout.strip()
    assert out == "http://127.0.0.1:5125"
    out = subprocess.run(probe, cwd=ROOT, env=_clean_env(PORT="5125", BASE_URL="https://t.example"),
                         capture_output=True, text=True, check=True).stdout.strip()
    assert out == "https://t.example"


def _answers(url: str) -> bool:
    try:
        with urllib.request.urlopen(url, timeout=3) as response:  # noqa: S310 - loopback
            return response.status == 200
    except OSError:
        return False


def _celery_pids(instance: Path, role: str) -> set[int]:
    """Our make run's celery processes of one role (main process and pool children)."""
    pids = set()
    for entry in Path("/proc").iterdir():
        if not entry.name.isdigit():
            continue
        try:
            argv = (entry / "cmdline").read_bytes().split(b"\0")
            environ = (entry / "environ").read_bytes()
        except OSError:
            continue
        at = next((i for i, a in enumerate(argv) if a.endswith(b"/celery")), None)
        if at is None or b"bin/respawn" in argv:  # not bin/respawn's shell around it
            continue
        if argv[at + 1:at + 4] == [b"-A", b"worker", role.encode()] and \
                f"INSTANCE_DIR={instance}\0".encode() in environ:
            pids.add(int(entry.name))
    return pids


def _wait(predicate, timeout: float) -> bool:
    deadline = time.time() + timeout
    while time.time() < deadline:
        if predicate():
            return True
        time.sleep(0.5)
    return False


def test_make_run_fresh_instance_survives_a_worker_sigkill_and_delivers_everything(tmp_path):
    instance = tmp_path / "fresh" / "instance"  # does not exist yet: make run creates it
    port = free_port()
    handler = FlakyHandler(delay=0.3)  # about a second per message: kills land mid-send
    with SmtpSink(handler) as sink:
        env = _clean_env(PORT=str(port), INSTANCE_DIR=str(instance), SMTP_URL=sink.url,
                         MAIL_FROM="tracker@run.example", REMINDER_BEAT_SECONDS="2",
                         REMINDER_SMTP_TIMEOUT="5", REMINDER_STUCK_SECONDS="3")
        make = subprocess.Popen(["make", "-o", ".venv/.installed", "run"], cwd=ROOT, env=env,
                                stdout=(tmp_path / "run.log").open("wb"),
                                stderr=subprocess.STDOUT, start_new_session=True)
        login = f"http://127.0.0.1:{port}/login"
        try:
            assert _wait(lambda: _answers(login), 120), (tmp_path / "run.log").read_text()[-3000:]
            assert (instance / "tracker.db").exists()
            assert _wait(lambda: any(instance.glob("celerybeat-schedule*")), 30)
            assert _wait(lambda: len(handler.snapshot()) >= 2, 60), "the demo's reminders"
            beat = _celery_pids(instance, "beat")
            workers = _celery_pids(instance, "worker")
            assert beat and workers
            for pid in workers:  # SIGKILL: no warm shutdown, no ack, nothing handed back
                os.kill(pid, signal.SIGKILL)
            for _ in range(10):  # web and beat carry on
                assert _answers(login)
                time.sleep(0.5)
            assert _celery_pids(instance, "beat") == beat
            assert _wait(lambda: _celery_pids(instance, "worker") - workers, 30)

            def unfinished() -> int:
                with sqlite3.connect(instance / "tracker.db", timeout=10) as conn:
                    return conn.execute("SELECT count(*) FROM reminders WHERE channel = 'email' "
                                        "AND status IN ('pending', 'sending')").fetchone()[0]

            assert _wait(lambda: unfinished() == 0, 120), unfinished()
            with sqlite3.connect(instance / "tracker.db") as conn:
                rows = conn.execute("SELECT id, to_address FROM reminders WHERE channel = 'email'"
                                    " AND status = 'sent'").fetchall()
            accepted = {(a.message_id.split(".", 1)[0], a.rcpt[0]) for a in handler.snapshot()}
            assert rows and {(f"<reminder-{rid}", to) for rid, to in rows} <= accepted
        finally:
            os.killpg(make.pid, signal.SIGTERM)
            try:
                make.wait(30)
            except subprocess.TimeoutExpired:
                os.killpg(make.pid, signal.SIGKILL)
            for role in ("worker", "beat"):
                for pid in _celery_pids(instance, role):
                    os.kill(pid, signal.SIGKILL)
