"""Shared fixtures: one app per session, each test inside a rolled-back transaction."""

from __future__ import annotations

import os
import re
import shutil
import socket
from contextlib import contextmanager
from urllib.parse import urlsplit

import pytest
from flask import g
from flask_sqlalchemy.session import Session as FlaskSession
from sqlalchemy import event

from config import TestConfig
from tracker import create_app
from tracker.extensions import db

# the browser tests' shared fixtures: a session Chromium, signed-in pages
pytest_plugins = ["tests.browser_fixtures"]

IN_CI = os.environ.get("CI", "").lower() == "true"
REDIS_URL = os.environ.get("TEST_REDIS_URL", "redis://127.0.0.1:6379/15")
POSTGRES_URL = os.environ.get(
    "TEST_POSTGRES_URL", "postgresql://postgres@127.0.0.1:5432/test"
)


def service_reachable(url: str, default_port: int) -> bool:
    parts = urlsplit(url)
    try:
        with socket.create_connection((parts.hostname or "127.0.0.1",
                                       parts.port or default_port), timeout=1):
            return True
    except OSError:
        return False


def require_service(name: str, url: str, default_port: int) -> str:
    """Skip on a laptop without the service; fail under CI, where it must be there."""
    if service_reachable(url, default_port):
        return url
    message = f"{name} is not reachable at {url}"
    if IN_CI:
        pytest.fail(message + " (CI=true: services are required)")
    pytest.skip(message)


def require_program(name: str) -> str:
    """A program the test starts itself (a Redis server of its own): skip on a laptop without
    it, fail under CI, like require_service."""
    found = shutil.which(name)
    if found:
        return found
    message = f"{name} is not installed"
    if IN_CI:
        pytest.fail(message + " (CI=true: services are required)")
    pytest.skip(message)


class _TestSession(FlaskSession):
    """Flask-SQLAlchemy's session ignores a session-level bind; tests need it honoured."""

    def get_bind(self, mapper=None, clause=None, bind=None, **kwargs):
        if bind is None and self.bind is not None:
            return self.bind
        return super().get_bind(mapper=mapper, clause=clause, bind=bind, **kwargs)


@pytest.fixture(scope="session")
def app():
    """The application configured for tests, with the schema created once."""
    url = TestConfig.SQLALCHEMY_DATABASE_URI
    if url.startswith("postgresql"):
        require_service("PostgreSQL", url, 5432)
    application = create_app(TestConfig)
    with application.app_context():
        db.drop_all()
        db.create_all()
    yield application
    with application.app_context():
        db.session.remove()
        db.drop_all()
        db.engine.dispose()


@pytest.fixture(autouse=True)
def database(request, app):
    """Run each test in a transaction that is rolled back at the end.

    Tests marked `live` build their own app and database (servers in other threads or
    processes must see committed data), so they get no shared transaction.
    """
    # A test that built an app of its own made that app's Celery the default; tasks called
    # here must find the suite's (in-memory broker), whatever ran before.
    app.extensions["celery"].set_current()
    app.extensions["celery"].set_default()
    if request.node.get_closest_marker("live"):
        yield None
        return
    with app.app_context():
        connection = db.engine.connect()
        transaction = connection.begin()
        original = db.session
        db.session = db._make_scoped_session(
            {"bind": connection, "join_transaction_mode": "create_savepoint",
             "class_": _TestSession}
        )
        try:
            yield db
        finally:
            db.session.remove()
            db.session = original
            if transaction.is_active:
                transaction.rollback()
            connection.close()


@pytest.fixture
def client(app):
    """A test client (no one logged in)."""
    return app.test_client()


@contextmanager
def count_queries():
    """Count SQL statements run inside the block."""
    statements: list[str] = []

    def before(conn, cursor, statement, *args):
        if not statement.lstrip().upper().startswith(("SAVEPOINT", "RELEASE", "ROLLBACK")):
            statements.append(statement)

    event.listen(db.engine, "before_cursor_execute", before)
    try:
        yield statements
    finally:
        event.remove(db.engine, "before_cursor_execute", before)


_CSRF = re.compile(r'name="csrf_token"[^>]*value="([^"]+)"')


def csrf_from(html: str) -> str:
    match = _CSRF.search(html)
    assert match, "page has no CSRF token"
    return match.group(1)


def csrf_token(client, url: str = "/login") -> str:
    return csrf_from(client.get(url).get_data(as_text=True))


def login(client, user, password: str = "correct-horse-9") -> None:
    # Tests share one app context with the requests they make, so `g` would remember the
    # previous user and CSRF token; a fresh login must start from neither.
    for name in ("_login_user", "csrf_token"):
        g.pop(name, None)
    token = csrf_token(client, "/login")
    response = client.post("/login", data={"email": user.email, "password": password,
                                           "csrf_token": token})
    assert response.status_code == 302, response.get_data(as_text=True)[:500]


@pytest.fixture
def login_as(client):
    """Log the test client in as a user made by the factories."""

    def _login(user):
        login(client, user)
        return client

    return _login
