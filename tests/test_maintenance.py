"""Periodic upkeep: SQLite statistics refreshed by PRAGMA optimize; the counts version."""

from __future__ import annotations

import pytest
from sqlalchemy import event, func, select

from tracker import maintenance, snapshots
from tracker.extensions import db


def test_the_upkeep_is_on_the_beat_schedule(app):
    schedule = app.extensions["celery"].conf.beat_schedule
    assert schedule["maintenance-every-6-hours"]["task"] == "tracker.maintenance.run"


def test_upkeep_runs_pragma_optimize_on_sqlite(app):
    if db.engine.dialect.name != "sqlite":
        pytest.skip("PostgreSQL's autovacuum keeps its own statistics")
    sent: list[str] = []

    def grab(_conn, _cursor, statement, *_args):
        sent.append(statement)

    event.listen(db.engine, "before_cursor_execute", grab)
    try:
        assert maintenance.optimize_sqlite() is True
    finally:
        event.remove(db.engine, "before_cursor_execute", grab)
    assert "PRAGMA optimize=0x10002" in sent


def test_the_counts_version_is_one_row_each_counting_commit_adds_one_to():
    """bump() notes; the commit adds one (the version orders commits); a rollback adds none."""
    start = snapshots.version()
    snapshots.bump()
    snapshots.bump()
    assert snapshots.current_version() == start  # not applied before the commit
    db.session.commit()
    assert snapshots.current_version() == start + 1
    snapshots.bump()
    db.session.rollback()
    db.session.commit()
    assert snapshots.current_version() == start + 1
    assert db.session.scalar(select(func.count()).select_from(snapshots.CountsVersion)) == 1
