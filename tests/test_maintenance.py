"""Periodic upkeep: SQLite statistics refreshed by PRAGMA optimize, counts versions pruned."""

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


def test_upkeep_keeps_only_the_newest_counts_versions(monkeypatch):
    monkeypatch.setattr(snapshots, "KEEP_VERSIONS", 2)
    for _ in range(5):
        snapshots.bump()
    newest = snapshots.version()
    assert snapshots.prune() >= 3
    assert db.session.scalar(select(func.count(snapshots.CountsVersion.id))) == 2
    assert snapshots.version() == newest
