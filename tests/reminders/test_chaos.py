"""CI runs the reliability script at a small size (bench/chaos.py; `make chaos` runs it big)."""

from __future__ import annotations

import json
import os
import re
import subprocess
import sys
from pathlib import Path

import pytest

from tests.conftest import POSTGRES_URL, require_service

ROOT = Path(__file__).resolve().parents[2]

pytestmark = pytest.mark.slow


@pytest.mark.skipif(os.environ.get("TEST_DATABASE_URL", "").startswith("postgresql"),
                    reason="runs once per CI job, in the SQLite pass: the script always uses "
                           "its own PostgreSQL database whatever the suite's database is")
def test_chaos_run_loses_nothing_and_duplicates_only_in_the_crash_window():
    require_service("PostgreSQL", POSTGRES_URL, 5432)
    require_service("Redis", "redis://127.0.0.1:6379/6", 6379)  # the script starts its own
    n = int(os.environ.get("CHAOS_N", "300"))
    result = subprocess.run(
        [sys.executable, "bench/chaos.py", "--n", str(n), "--web", "50", "--kills", "3",
         # a name of its own: concurrent suite runs must not drop each other's database
         "--database", f"test_reminders_chaos_ci_{os.getpid()}", "--drop", "--timeout", "240"],
        cwd=ROOT, capture_output=True, text=True, timeout=400, check=False,
        env={**os.environ, "CHAOS_PG_ADMIN": POSTGRES_URL.rsplit("/", 1)[0] + "/postgres"},
    )
    assert result.returncode == 0, result.stdout[-3000:] + result.stderr[-3000:]
    report = json.loads(result.stdout[result.stdout.index("{\n"):result.stdout.rindex("\n}") + 2])
    assert report["reminders"] == n + 50 + 3 and report["lost"] == 0  # +3: the hung-Redis probe
    assert report["kills"] == 3 and report["sweep_ok"]
    assert report["duplicates_outside_crash_window"] == 0
    assert report["failed"] == report["failed_permanent_550"]  # only the 550s fail
    assert report["web"]["max_request_seconds"] < 2 and report["web"]["delivered"] == 50
    assert re.search(r"delivered=\d+ duplicates=\d+ .* lost=0 failed=\d+ seconds=", result.stdout)
