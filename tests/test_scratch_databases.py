"""Databases that tests and bench scripts create for themselves never collide between runs."""

from __future__ import annotations

import re
import subprocess
import sys
from pathlib import Path
from urllib.parse import urlsplit

import pytest

from tests.conftest import POSTGRES_URL
from tests.scratch_databases import MAX_NAME, database_exists, scratch_database, scratch_name

ROOT = Path(__file__).resolve().parent.parent
#: a database name written out in full: the same for every run on one server
FIXED_NAME = re.compile(r"""["']test_\w*["']|--database[ =]+["']?test_\w+""")


def test_no_test_or_bench_script_creates_a_database_under_a_fixed_name():
    """Two CI jobs, or a SQLite and a PostgreSQL pass side by side, once shared
    "test_reminders_faults" and dropped it under each other's running worker."""
    files = [*ROOT.glob("tests/**/*.py"), *ROOT.glob("bench/*.py"), ROOT / ".ci" / "run",
             ROOT / "Makefile"]
    found = [f"{path.relative_to(ROOT)}:{n}: {line.strip()}"
             for path in files if path.exists() and path != Path(__file__)
             for n, line in enumerate(path.read_text().splitlines(), 1)
             if FIXED_NAME.search(line)]
    assert found == []


def test_scratch_names_differ_between_processes_and_name_the_suite():
    code = "from tests.scratch_databases import scratch_name; print(scratch_name('faults'))"
    names = {subprocess.run([sys.executable, "-c", code], cwd=ROOT, capture_output=True,
                            text=True, check=True).stdout.strip() for _ in range(2)}
    names.add(scratch_name("faults"))
    assert len(names) == 3
    suite = urlsplit(POSTGRES_URL).path.lstrip("/")
    assert all(name.startswith(f"{suite}_faults_") for name in names), names
    assert len(scratch_name("x" * 100)) <= MAX_NAME


@pytest.mark.live
@pytest.mark.postgres
def test_a_scratch_database_is_gone_afterwards_even_when_the_test_fails():
    names = []

    def a_failing_test() -> None:
        with scratch_database("scratch_check") as url:
            names.append(url.rsplit("/", 1)[1])
            assert database_exists(names[0])
            raise RuntimeError("the test failed")

    with pytest.raises(RuntimeError):
        a_failing_test()
    assert not database_exists(names[0])
