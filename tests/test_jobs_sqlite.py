"""Background work on the embedded default: a real SQLite file shared with another connection.

The incident: an import task ran in the same second as the reminder sweep and died with
`sqlite3.OperationalError: database is locked`, leaving the job queued for ever; five
`recompute_many` tasks died the same way. In WAL mode a transaction that has read and then
writes after another connection committed gets "database is locked" at once (the busy timeout
does not apply), so the task must try again, not die.
"""

from __future__ import annotations

import sqlite3
import threading
from pathlib import Path

import pytest
from openpyxl import Workbook
from sqlalchemy import event, func, select

from tests.factories import valid_uscc
from tests.scratch_databases import sqlite_file_app
from tracker import jobs
from tracker.enterprises.models import Enterprise
from tracker.extensions import db
from tracker.imports import services as imports
from tracker.imports.models import ImportJob
from tracker.imports.tasks import run_import_job
from tracker.ladder import results
from tracker.ladder.models import EligibilityResult
from tracker.ladder.rules import KINDS
from tracker.ladder.tasks import recompute_many, recompute_stale

pytestmark = pytest.mark.live


@pytest.fixture
def file_app(app, tmp_path):
    """An app on its own SQLite file (WAL), with a short busy timeout and quick retries."""
    with sqlite_file_app(tmp_path, UPLOAD_DIR=str(tmp_path / "uploads"),
                         SQLITE_BUSY_TIMEOUT_MS=100, TASK_RETRY_ATTEMPTS=4,
                         TASK_RETRY_BASE_SECONDS=0.05) as application, \
            application.app_context():
        yield application


@pytest.fixture
def other_connection(file_app):
    """A second connection to the same file, as the sweep or the web process would hold."""
    path = Path(db.engine.url.database)
    connection = sqlite3.connect(path, isolation_level=None, check_same_thread=False)
    connection.execute("CREATE TABLE IF NOT EXISTS sweep_marker (x INTEGER)")
    yield connection
    connection.close()


def _firms(n: int) -> list[int]:
    firms = [Enterprise(uscc=valid_uscc(81000 + i), name=f"锁测试公司{i}", zone="高新区")
             for i in range(n)]
    db.session.add_all(firms)
    db.session.commit()
    return [f.id for f in firms]


def _commit_in_between(other: sqlite3.Connection, table: str):
    """Before our first write to `table`, the other connection writes and commits."""
    fired: list[str] = []

    def before(conn, cursor, statement, parameters, context, executemany):
        head = statement.lstrip().upper()
        if not fired and head.startswith(("INSERT", "UPDATE")) and table.upper() in head:
            fired.append(statement)
            other.execute("INSERT INTO sweep_marker VALUES (1)")

    event.listen(db.engine, "before_cursor_execute", before)
    return fired, lambda: event.remove(db.engine, "before_cursor_execute", before)


def test_wal_mode_and_busy_timeout_on_the_app_file(file_app):
    with db.engine.connect() as connection:
        assert connection.exec_driver_sql("PRAGMA journal_mode").scalar() == "wal"
        assert connection.exec_driver_sql("PRAGMA busy_timeout").scalar() == 100


def test_recompute_task_tries_again_after_another_connection_committed(file_app,
                                                                        other_connection):
    ids = _firms(3)
    # results computed at the commit would stand (nothing to write): the task must write
    db.session.execute(EligibilityResult.__table__.delete())
    db.session.commit()
    fired, stop = _commit_in_between(other_connection, "eligibility_results")
    try:
        assert recompute_many.run(ids) == 3
    finally:
        stop()
    assert fired  # the conflict really happened
    stored = db.session.scalar(select(func.count()).select_from(EligibilityResult))
    assert stored == 3 * len(KINDS)


def test_import_task_tries_again_instead_of_dying(file_app, other_connection):
    workbook = Workbook()
    sheet = workbook.active
    sheet.append(["统一社会信用代码", "企业名称", "所属区域"])
    for i in range(1, 6):
        sheet.append([valid_uscc(82000 + i), f"队列锁测试公司{i}", "高新区"])
    imports.upload_dir()
    workbook.save(Path(file_app.config["UPLOAD_DIR"]) / "imports" / "locked.xlsx")
    job = imports.create_job("enterprises", "imports/locked.xlsx", "locked.xlsx", user_id=None)
    job.options = {**job.options, "mode": "run"}
    jobs.queue(job)
    db.session.commit()
    job_id = job.id

    fired, stop = _commit_in_between(other_connection, "enterprises")
    try:
        assert run_import_job.run(job_id) == "done"
    finally:
        stop()
    assert fired
    db.session.expire_all()
    job = db.session.get(ImportJob, job_id)
    assert (job.status, job.created, job.worker_token) == ("done", 5, None)
    assert db.session.scalar(select(func.count()).select_from(Enterprise)) == 5


def test_a_lock_held_past_every_retry_leaves_the_firms_stale_until_the_catch_up(
        file_app, other_connection):
    ids = _firms(2)
    results.mark_stale(ids)  # what the bulk commit did when it handed the recompute over
    db.session.commit()
    released = threading.Event()
    other_connection.execute("BEGIN IMMEDIATE")  # the sweep holds the write lock ...
    timer = threading.Timer(3.0, lambda: (other_connection.execute("COMMIT"), released.set()))
    timer.start()
    try:
        with pytest.raises(Exception, match="locked"):
            recompute_many.run(ids)
    finally:
        timer.join()
    assert released.is_set()
    db.session.expire_all()
    stale = db.session.scalars(select(Enterprise.eligibility_stale_since)
                               .where(Enterprise.id.in_(ids))).all()
    assert all(stale)  # still shown as out of date, not silently wrong

    from tracker.clock import frozen, now_utc
    from tracker.ladder.tasks import CATCH_UP_GRACE

    with frozen(now_utc() + CATCH_UP_GRACE * 2):
        assert recompute_stale.run() == 2
    db.session.expire_all()
    assert db.session.scalars(select(Enterprise.eligibility_stale_since)
                              .where(Enterprise.id.in_(ids))).all() == [None, None]
