"""Running the checker and keeping its outcome; the edge (task, CLI) commits."""

from __future__ import annotations

from sqlalchemy import select

from tracker.clock import now_utc
from tracker.extensions import db, writing
from tracker.integrity.checks import Report, run_checks
from tracker.integrity.models import IntegrityRun

#: violations kept on a stored run; the count says how many there were in all
STORED_VIOLATIONS = 500


def record_run(report: Report, *, trigger: str, started_at=None) -> IntegrityRun:
    """Store a report as the latest run, in a transaction of its own (flushes; the edge commits).

    The checks read at length in a transaction that ends here, before the outcome is written
    in one of its own that begins as a writer: on SQLite a read that another connection's
    commit has made stale cannot turn into a write ("database is locked", at once), and a
    check that held the write lock from its start would hold every save for its whole run.
    """
    db.session.commit()  # ends the checks' read
    with writing():
        run = IntegrityRun(
            started_at=started_at or now_utc(), finished_at=now_utc(), trigger=trigger,
            ok=report.ok, checked=dict(report.checked),
            violations=[v.as_dict() for v in report.violations[:STORED_VIOLATIONS]],
            violation_count=len(report.violations),
        )
        db.session.add(run)
        db.session.flush()
    return run


def check_and_record(*, trigger: str) -> IntegrityRun:
    """Run every invariant now and store the outcome (record_run; flushes)."""
    started = now_utc()
    report = run_checks(now=started)
    return record_run(report, trigger=trigger, started_at=started)


def last_run() -> IntegrityRun | None:
    return db.session.scalar(select(IntegrityRun).order_by(IntegrityRun.started_at.desc(),
                                                           IntegrityRun.id.desc()).limit(1))
