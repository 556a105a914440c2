"""The embedded default: the full refresh of the maintained figures on a real SQLite file
shared with another connection that commits just before the refresh's first write.

In WAL mode a transaction that has read and then writes after another connection committed
gets "database is locked" at once (the busy timeout does not apply). The refresh takes its
lock with a write before reading anything (aggregates.refresh), and the task asked with
force=False ends its "already current?" read before refreshing.
"""

from __future__ import annotations

import sqlite3
from datetime import date
from pathlib import Path

import pytest
from sqlalchemy import event

from tests.dashboard.test_aggregates import maintained, straightforward
from tests.factories import make_enterprise, make_user
from tests.scratch_databases import sqlite_file_app
from tracker import snapshots
from tracker.clock import frozen
from tracker.dashboard import aggregates
from tracker.dashboard.tasks import refresh_aggregates
from tracker.extensions import db
from tracker.ladder import services as ladder

pytestmark = pytest.mark.live

DAY = date(2026, 12, 1)


@pytest.fixture
def file_app(app, tmp_path):
    """An app on its own SQLite file (WAL), with plain (committing) sessions."""
    with sqlite_file_app(tmp_path) as application, application.app_context():
        yield application


@pytest.fixture
def other_connection(file_app):
    """A second connection to the same file, as a web process saving a firm would hold."""
    connection = sqlite3.connect(Path(db.engine.url.database), isolation_level=None,
                                 check_same_thread=False)
    connection.execute("CREATE TABLE IF NOT EXISTS other_writer (x INTEGER)")
    yield connection
    connection.close()


@pytest.mark.parametrize("force", [True, False])
def test_a_commit_just_before_the_refresh_writes_does_not_fail_it(file_app, other_connection,
                                                                   force):
    with frozen(DAY):
        users = {"bureau": make_user("bureau"), "hitech": make_user("zone", zone="hitech")}
        for i in range(3):
            firm = make_enterprise(zone="hitech", name=f"文件库刷新{i}号有限公司")
            ladder.grant_qualification(firm, "tech_sme", None, date(2025, 3, 1),
                                       date(2027, 12, 31))
        db.session.commit()
        aggregates.refresh()
        snapshots.bump()  # a counted change nobody recounted: the figures are stale
        db.session.commit()
        assert aggregates.current_state() is None
        db.session.commit()

        fired: list[str] = []

        def before(conn, cursor, statement, parameters, context, executemany):
            if not fired and statement.lstrip().upper().startswith(
                    ("INSERT", "UPDATE", "DELETE")):
                fired.append(statement)
                other_connection.execute("INSERT INTO other_writer VALUES (1)")

        event.listen(db.engine, "before_cursor_execute", before)
        try:
            written = refresh_aggregates.run(force=force)
        finally:
            event.remove(db.engine, "before_cursor_execute", before)
        assert fired  # the other connection really committed in between
        assert written > 0
        db.session.expire_all()
        assert aggregates.current_state() is not None
        for scope, user in users.items():
            assert maintained(user) == straightforward(user), scope
