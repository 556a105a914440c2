"""The chaos run's processes (bench/chaos.py): children in process groups of their own (Redis,
the Celery worker and beat, gunicorn), and the run's PostgreSQL database."""

from __future__ import annotations

import os
import re
import shutil
import signal
import subprocess
import sys
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
PG_ADMIN = os.environ.get("CHAOS_PG_ADMIN", "postgresql://postgres@127.0.0.1:5432/postgres")


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
        stop_together(self)


def stop_together(*procs: Proc, grace: float = 15) -> None:
    """SIGTERM every live one at once, then SIGKILL what is left after one shared grace.

    Stopped one after another, each taking its grace in turn, a loaded machine's Ctrl-C took
    longer than a minute to give the terminal back.
    """
    live = [proc for proc in procs if proc.alive()]
    for proc in live:
        os.killpg(proc.proc.pid, signal.SIGTERM)
    deadline = time.monotonic() + grace
    for proc in live:
        try:
            proc.proc.wait(max(0.0, deadline - time.monotonic()))
        except subprocess.TimeoutExpired:
            proc.kill()


def bin_path(name: str) -> str:
    """A program of this virtualenv (celery, flask, gunicorn)."""
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
        wait_port(self.port)


def wait_port(port: int, timeout: float = 20) -> None:
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
