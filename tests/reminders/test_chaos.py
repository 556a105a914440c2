"""The reliability oracle (bench/chaos.py) passes a sound run and fails the runs it must fail.

CI runs it at a small size here and `.ci/run` at N=2,000; `make chaos` runs it big.
"""

from __future__ import annotations

import json
import os
import signal
import subprocess
import sys
import tempfile
import time
from pathlib import Path

import pytest

from tests.conftest import POSTGRES_URL, require_program, require_service
from tests.scratch_databases import PG_ADMIN, database_exists

ROOT = Path(__file__).resolve().parents[2]

pytestmark = [
    pytest.mark.slow,
    pytest.mark.skipif(os.environ.get("TEST_DATABASE_URL", "").startswith("postgresql"),
                       reason="runs once per CI job, in the SQLite pass: the script always uses "
                              "its own PostgreSQL database whatever the suite's database is"),
]


def _require_services() -> None:
    """PostgreSQL (the suite's server) and the redis-server program: the script starts a Redis
    of its own on a free port and stops it for its web part, so it needs no Redis of the
    suite's, and must not stop one other tests use."""
    require_service("PostgreSQL", POSTGRES_URL, 5432)
    require_program("redis-server")


def _chaos(*args: str, timeout: int = 400) -> tuple[int, dict, str]:
    _require_services()
    with tempfile.TemporaryDirectory() as tmp:
        # the script's database is its own (test_reminders_chaos_<pid>, dropped at the end);
        # TMPDIR lets us check that it leaves no folder behind
        result = subprocess.run(
            [sys.executable, "bench/chaos.py", *args],
            cwd=ROOT, capture_output=True, text=True, timeout=timeout, check=False,
            env={**os.environ, "CHAOS_PG_ADMIN": PG_ADMIN, "TMPDIR": tmp},
        )
        left = [p.name for p in Path(tmp).glob("reminders-chaos-*")]
    out = result.stdout
    report = json.loads(out[out.index("{\n"):out.rindex("\n}") + 2]) if "{\n" in out else {}
    assert left == [], f"left behind: {left}"
    return result.returncode, report, out[-3000:] + result.stderr[-3000:]


def test_chaos_run_loses_nothing_and_duplicates_only_in_the_crash_window():
    n = int(os.environ.get("CHAOS_N", "300"))
    code, report, output = _chaos("--n", str(n), "--web", "30", "--kills", "3",
                                  "--permanent", "0.03", "--timeout", "240")
    assert code == 0, output
    assert report["expected"] == n + 30 + 4 and report["lost"] == 0
    assert report["delivered"] == n + 34 - report["refused_recipients"]
    assert report["kills"] == 3 and report["sweep_ok"] and not report["timed_out"]
    assert report["duplicates_outside_crash_window"] == 0
    assert report["failed"] == report["refused_recipients"] > 0  # only the 550s fail
    assert report["web"]["max_request_seconds"] < 2 and report["web"]["reminders_made"] == 30 + 4


def test_the_oracle_fails_a_run_where_every_recipient_is_refused():
    """delivered=0 with every row `failed` once printed OK; it proves nothing."""
    code, report, output = _chaos("--n", "30", "--web", "0", "--kills", "0",
                                  "--permanent", "1.0", "--timeout", "120")
    assert code == 1, output
    assert report["delivered"] == 0 and report["failed"] == 30
    assert any("proves no delivery" in reason for reason in report["fail_reasons"])


def test_the_oracle_fails_a_row_marked_sent_that_the_sink_never_received():
    code, report, output = _chaos("--n", "30", "--web", "0", "--kills", "0",
                                  "--permanent", "0", "--sabotage", "drop", "--timeout", "120")
    assert code == 1, output
    assert report["lost"] == 1 and report["delivered"] == 29


def test_the_oracle_fails_a_run_that_times_out():
    code, report, output = _chaos("--n", "30", "--web", "0", "--kills", "0",
                                  "--outage", "60", "--timeout", "5")
    assert code == 1, output
    assert report["timed_out"] and "timed out" in report["fail_reasons"]


def test_the_oracle_fails_a_run_that_stops_making_progress():
    """The default timeout grows with N; a sink down for good still fails within --stall."""
    code, report, output = _chaos("--n", "30", "--web", "0", "--kills", "0",
                                  "--outage", "600", "--stall", "15")
    assert code == 1, output
    assert report["timed_out"] and report["unfinished"] == 30 and report["lost"] == 0
    assert report["delivery_seconds"] < 120


def test_ctrl_c_stops_the_run_and_leaves_no_folder_or_database():
    """Ctrl-C in the middle of delivery (the sink refusing everything, so it would go on)."""
    _require_services()
    with tempfile.TemporaryDirectory() as tmp:
        run = subprocess.Popen(
            [sys.executable, "bench/chaos.py", "--n", "20", "--web", "0", "--kills", "0",
             "--outage", "600", "--stall", "600", "--timeout", "600"],
            cwd=ROOT, stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True,
            env={**os.environ, "CHAOS_PG_ADMIN": PG_ADMIN, "TMPDIR": tmp})
        try:
            deadline = time.time() + 180
            while not list(Path(tmp).glob("reminders-chaos-*/worker.log")):
                assert run.poll() is None and time.time() < deadline, run.stdout.read()
                time.sleep(0.5)
            time.sleep(2)  # delivery under way
            run.send_signal(signal.SIGINT)
            # the claim is a clean stop, not a fast one: the processes share a 15 s grace,
            # and a loaded machine (CI beside other suites) slows each step
            output = run.communicate(timeout=150)[0]
        finally:
            if run.poll() is None:
                run.kill()
        assert run.returncode != 0, output
        assert list(Path(tmp).iterdir()) == [], output
    assert not database_exists(f"test_reminders_chaos_{run.pid}"), output
