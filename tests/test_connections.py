"""PostgreSQL page views: reads outside a transaction, writes inside one, the ping after idle,
and a page view that meets a dropped connection (tracker.connections).

Each test has a database of its own: the suite's shared transaction would hide the rule (a
statement inside an open transaction always joins it)."""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager

import psycopg
import pytest
from flask import Flask, request, request_started
from sqlalchemy import event, select, text, update

from tests.factories import PASSWORD, make_enterprise, make_user
from tests.scratch_databases import PG_ADMIN, app_on, scratch_database
from tracker import connections
from tracker.accounts.models import User
from tracker.enterprises.models import Enterprise
from tracker.extensions import db, writing

pytestmark = pytest.mark.live


@pytest.fixture(scope="module")
def pg_app() -> Iterator[Flask]:
    """An app on a database of its own, CSRF off (plain form posts), the ping after 5 s."""
    with scratch_database("connections") as url, \
            app_on(url, WTF_CSRF_ENABLED=False, DB_PING_IDLE_SECONDS=5) as app:
        with app.app_context():
            make_user("bureau", email="reader@test.example")
            make_enterprise()
            db.session.commit()
            db.session.remove()
        yield app


@pytest.fixture
def client(pg_app):
    """Signed in; requests push their own app context, as under gunicorn, so each request's
    session gives its connection back to the pool."""
    client = pg_app.test_client()
    response = client.post("/login", data={"email": "reader@test.example", "password": PASSWORD})
    assert response.status_code == 302
    return client


@contextmanager
def statuses(app: Flask) -> Iterator[list[tuple[str, str]]]:
    """(first words of each statement, the connection's transaction status right after it)."""
    seen: list[tuple[str, str]] = []

    def after(_conn, cursor, statement, *_args) -> None:
        seen.append((" ".join(statement.split()[:2]),
                     cursor.connection.info.transaction_status.name))

    with app.app_context():
        engine = db.engine
    event.listen(engine, "after_cursor_execute", after)
    try:
        yield seen
    finally:
        event.remove(engine, "after_cursor_execute", after)


def test_a_page_views_reads_run_outside_a_transaction(pg_app, client):
    with statuses(pg_app) as seen:
        assert client.get("/enterprises/").status_code == 200
    assert seen and all(status == "IDLE" for _, status in seen), seen
    with pg_app.app_context():  # the pooled connection is handed on as psycopg made it
        raw = db.engine.raw_connection()
        try:
            assert raw.driver_connection.autocommit is False
        finally:
            raw.close()


def _status_after(statement) -> str:
    db.session.execute(statement)
    return db.session.connection().connection.driver_connection.info.transaction_status.name


def test_anything_but_a_plain_select_begins_the_transaction(pg_app):
    first = select(Enterprise.id).limit(1)
    with pg_app.test_request_context("/", method="GET"):
        assert _status_after(first) == "IDLE"
        assert _status_after(update(User).values(name="改名")) == "INTRANS"
        assert _status_after(first) == "INTRANS"  # once begun, reads join it
        db.session.rollback()
        assert db.session.scalar(select(User.name).where(User.name == "改名")) is None
        for statement in (select(User.id).with_for_update(), text("SELECT 1")):
            assert _status_after(statement) == "INTRANS", statement
            db.session.rollback()
        with writing():
            assert _status_after(first) == "INTRANS"
        db.session.rollback()
        # a server-side cursor needs its transaction (DECLARE fails outside one)
        streamed = db.session.execute(select(Enterprise.id).execution_options(yield_per=1))
        assert len(list(streamed)) == 1
        db.session.rollback()
        db.session.remove()
    # an isolation level of the caller's own is left as it is: AUTOCOMMIT stays so
    with pg_app.test_request_context("/", method="GET"), db.engine.connect() as conn:
        conn = conn.execution_options(isolation_level="AUTOCOMMIT")
        for statement in (first, text("SELECT 1"), first):
            conn.execute(statement)
            assert conn.connection.driver_connection.info.transaction_status.name == "IDLE"
    with pg_app.test_request_context("/", method="POST"):
        assert _status_after(first) == "INTRANS"
        db.session.remove()
    with pg_app.app_context():  # a script, a command, a task: as before
        assert _status_after(first) == "INTRANS"
        db.session.remove()


def _kill_pooled_connection(app: Flask) -> None:
    """The server ends the backend of the connection the pool holds (a restart, an admin)."""
    with app.app_context():
        pid = db.session.scalar(text("SELECT pg_backend_pid()"))
        db.session.remove()
    with psycopg.connect(PG_ADMIN, autocommit=True) as admin:
        assert admin.execute("SELECT pg_terminate_backend(%s, 5000)", (pid,)).fetchone()[0]


@pytest.fixture
def runs(pg_app):
    """The paths of the requests the app ran (RetryDropped runs one again)."""
    counted: list[str] = []

    def started(_sender, **_extra) -> None:
        counted.append(request.path)

    with request_started.connected_to(started, pg_app):
        yield counted


def test_a_connection_idle_past_the_limit_is_pinged_first(pg_app, client, runs, monkeypatch):
    assert client.get("/enterprises/").status_code == 200
    _kill_pooled_connection(pg_app)
    later = connections.time.monotonic() + 6
    monkeypatch.setattr(connections.time, "monotonic", lambda: later)
    runs.clear()
    assert client.get("/enterprises/").status_code == 200
    assert runs == ["/enterprises/"]  # the ping found it dropped: no second run needed


def test_a_page_view_that_meets_a_dropped_connection_runs_again(pg_app, client, runs):
    assert client.get("/enterprises/").status_code == 200
    _kill_pooled_connection(pg_app)
    runs.clear()
    response = client.get("/enterprises/")
    assert response.status_code == 200
    assert "天津测试科技有限公司" in response.get_data(as_text=True)
    assert runs == ["/enterprises/", "/enterprises/"]


def test_a_post_is_pinged_however_recently_its_connection_was_used(pg_app, client, runs):
    assert client.get("/enterprises/").status_code == 200
    _kill_pooled_connection(pg_app)
    runs.clear()
    response = client.post("/language/en", data={"next": "/enterprises/"})
    assert response.status_code == 302
    assert runs == ["/language/en"]


def test_a_page_view_that_committed_is_not_run_again(pg_app, client, runs):
    """A second run would repeat the commit (a remember-me token rotated twice): a request
    that committed is pinged on its next checkout instead."""
    assert client.get("/enterprises/").status_code == 200
    done: list[bool] = []

    def commit_then_drop(_sender, **_extra) -> None:
        if done:
            return
        done.append(True)
        db.session.execute(update(Enterprise).values(name=Enterprise.name))
        db.session.commit()
        _kill_pooled_connection(pg_app)

    runs.clear()
    with request_started.connected_to(commit_then_drop, pg_app):
        assert client.get("/enterprises/").status_code == 200
    assert runs == ["/enterprises/"]


def test_selects_that_need_a_transaction_begin_one():
    for statement in ("SELECT id FROM t FOR UPDATE", "SELECT id FROM t FOR NO KEY UPDATE",
                      "SELECT id FROM t FOR SHARE", "SELECT pg_advisory_xact_lock(1)",
                      "SELECT set_config('x', '1', true)", "SELECT nextval('s')"):
        assert connections._NEEDS_TRANSACTION.search(statement), statement
    assert not connections._NEEDS_TRANSACTION.search("SELECT format FROM t WHERE x = 1")


def test_a_statement_is_searched_for_locks_once(monkeypatch):
    searched = []

    class Counting:
        def search(self, statement):
            searched.append(statement)
            return connections._NEEDS_TRANSACTION_PATTERN.search(statement)

    monkeypatch.setattr(connections, "_NEEDS_TRANSACTION_PATTERN",
                        connections._NEEDS_TRANSACTION, raising=False)
    monkeypatch.setattr(connections, "_NEEDS_TRANSACTION", Counting())
    connections.needs_transaction.cache_clear()
    for _ in range(3):
        assert connections.needs_transaction("SELECT id FROM t FOR UPDATE")
        assert not connections.needs_transaction("SELECT id FROM t WHERE x = 1")
    assert searched == ["SELECT id FROM t FOR UPDATE", "SELECT id FROM t WHERE x = 1"]
