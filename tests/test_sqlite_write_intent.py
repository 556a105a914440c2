"""The embedded default: a web save on a real SQLite file while another process writes.

In WAL mode a transaction that has read and then writes, after another connection committed
in between, gets "database is locked" at once: its snapshot is no longer the latest and cannot
become a write transaction (SQLITE_BUSY_SNAPSHOT; the busy timeout does not apply). Every save
reads first (the user, the record, its version), so a worker committing at the wrong moment
made a user's save answer 500. A POST (and a background task) begins its transaction as a
writer instead (BEGIN IMMEDIATE): the other writer waits for it, and a GET still never waits.

Each request runs in an app context of its own, as under gunicorn, so it begins its own
transaction; the other connection tries its write with no busy timeout right after the
request's first read, so the interleaving is decided by the locks, not by timing.
"""

from __future__ import annotations

import sqlite3
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

import pytest

from tests.conftest import csrf_from
from tests.factories import PASSWORD, make_enterprise, make_user
from tests.scratch_databases import other_commit, other_commits_after_first_read, sqlite_file_app
from tracker.enterprises.models import Enterprise
from tracker.extensions import db, writing

pytestmark = pytest.mark.live


@pytest.fixture
def file_app(app, tmp_path):
    """An app on its own SQLite file (WAL), with plain (committing) sessions, no app context
    held: each request pushes its own, as in production."""
    with sqlite_file_app(tmp_path, SQLITE_BUSY_TIMEOUT_MS=2_000) as application:
        yield application


@pytest.fixture
def other_connection(file_app):
    """A second connection to the same file, as a worker would hold; no busy timeout, so a
    write it cannot make now fails at once instead of waiting."""
    with file_app.app_context():
        path = Path(db.engine.url.database)
    connection = sqlite3.connect(path, isolation_level=None, timeout=0,
                                 check_same_thread=False)
    connection.execute("CREATE TABLE other_writer (x INTEGER)")
    yield connection
    connection.close()


@pytest.fixture
def editor(file_app):
    """A bureau user and one firm, committed; returns (email, firm id)."""
    with file_app.app_context():
        user = make_user("bureau")
        firm = make_enterprise(name="天津文件库保存测试有限公司", zone="hitech")
        db.session.commit()
        return user.email, firm.id


def other_writes_after_first_read(file_app, other: sqlite3.Connection):
    """other_commits_after_first_read on `file_app`'s engine."""
    with file_app.app_context():
        return other_commits_after_first_read(db.engine, other)


def _signed_in(file_app, email: str):
    client = file_app.test_client()
    token = csrf_from(client.get("/login").get_data(as_text=True))
    response = client.post("/login", data={"email": email, "password": PASSWORD,
                                           "csrf_token": token})
    assert response.status_code == 302
    return client


def test_a_save_does_not_fail_when_another_connection_commits_after_its_first_read(
        file_app, other_connection, editor):
    email, firm_id = editor
    client = _signed_in(file_app, email)
    page = client.get(f"/enterprises/{firm_id}/edit").get_data(as_text=True)
    with file_app.app_context():
        firm = db.session.get(Enterprise, firm_id)
        data = {"csrf_token": csrf_from(page), "version": str(firm.version), "uscc": firm.uscc,
                "name": "天津文件库保存测试股份有限公司", "zone": firm.zone,
                "tech_field": firm.tech_field or "", "officer_id": "",
                "registered_in_tianjin": "1", "resident_enterprise": "1",
                "restricted_industry": "0", "integrity_record_clean": "1",
                "founded_on": firm.founded_on.isoformat()}

    with other_writes_after_first_read(file_app, other_connection) as outcome:
        response = client.post(f"/enterprises/{firm_id}/edit", data=data)

    assert response.status_code == 302, response.get_data(as_text=True)[:500]
    # the save held the write lock from its BEGIN: the other writer waited for it
    assert outcome == ["waits"]
    other_connection.execute("INSERT INTO other_writer VALUES (2)")  # and then goes through
    with file_app.app_context():
        assert db.session.get(Enterprise, firm_id).name == "天津文件库保存测试股份有限公司"


def test_a_page_read_never_waits_for_a_writer(file_app, other_connection, editor):
    email, firm_id = editor
    client = _signed_in(file_app, email)
    with other_writes_after_first_read(file_app, other_connection) as outcome:
        assert client.get(f"/enterprises/{firm_id}/edit").status_code == 200
    assert outcome == ["committed"]  # a GET begins deferred: it took no write lock


def test_a_task_begins_as_a_writer_and_writing_false_does_not(file_app, other_connection,
                                                                editor):
    from tracker.ladder.tasks import recompute_enterprise

    _email, firm_id = editor
    with other_writes_after_first_read(file_app, other_connection) as outcome:
        recompute_enterprise(firm_id)  # through the task's __call__, as the worker runs it
    assert outcome == ["waits"]
    with (file_app.app_context(), writing(False),
          other_writes_after_first_read(file_app, other_connection) as outcome):
        db.session.get(Enterprise, firm_id)
        db.session.rollback()
    assert outcome == ["committed"]


def test_a_page_view_that_records_the_visit_does_not_fail_on_a_commit_after_its_first_read(
        file_app, other_connection, editor):
    """A GET writes too, now and then: the session's last-seen time after its lookup."""
    email, firm_id = editor
    client = _signed_in(file_app, email)
    file_app.config["SESSION_TOUCH_SECONDS"] = 0  # every request records the visit
    with other_writes_after_first_read(file_app, other_connection) as outcome:
        response = client.get(f"/enterprises/{firm_id}")
    assert response.status_code == 200
    assert outcome == ["committed"]


def test_an_api_read_that_records_the_token_use_does_not_fail_on_a_commit_after_its_first_read(
        file_app, other_connection, editor):
    """An API GET writes too, once a minute per token: its last use, after the lookup."""
    from tracker.accounts import api_tokens
    from tracker.accounts.models import User, UserToken

    email, _firm_id = editor
    with file_app.app_context():
        user = db.session.scalar(db.select(User).where(User.email == email))
        token, row = api_tokens.issue(user, read_only=True)
        db.session.commit()
        row_id = row.id
    client = file_app.test_client()
    with other_writes_after_first_read(file_app, other_connection) as outcome:
        response = client.get("/api/v1/enterprises", headers={"Authorization": f"Bearer {token}"})
    assert response.status_code == 200, response.get_data(as_text=True)[:300]
    assert outcome == ["committed"]
    with file_app.app_context():
        assert db.session.get(UserToken, row_id).last_used_at is not None


# -- the password hash is slow (Argon2): no write lock held while it runs ---------------------

@contextmanager
def other_writes_while_hashing(monkeypatch, other: sqlite3.Connection) -> Iterator[list[str]]:
    """Each Argon2 hash or verification first lets the other connection try to commit a
    write: "committed", or "waits" (the request holds the write lock over the hash)."""
    from tracker.accounts import models

    real = models._hasher
    outcome: list[str] = []

    def probe() -> None:
        outcome.append(other_commit(other))

    class Probing:
        def hash(self, password):
            probe()
            return real().hash(password)

        def verify(self, stored, password):
            probe()
            return real().verify(stored, password)

    monkeypatch.setattr(models, "_hasher", Probing)
    yield outcome


def test_a_login_verifies_the_password_without_the_write_lock(file_app, other_connection,
                                                                editor, monkeypatch):
    """A commit by another connection during the verification does not fail the login's
    writes either (its attempt row, last login, session): they begin afresh as a writer."""
    from tracker.accounts.models import LoginAttempt, User

    email, _firm_id = editor
    client = file_app.test_client()
    token = csrf_from(client.get("/login").get_data(as_text=True))
    with other_writes_while_hashing(monkeypatch, other_connection) as outcome:
        response = client.post("/login", data={"email": email, "password": PASSWORD,
                                               "csrf_token": token})
    assert outcome == ["committed"]
    assert response.status_code == 302, response.get_data(as_text=True)[:300]
    with file_app.app_context():
        user = db.session.scalar(db.select(User).where(User.email == email))
        assert user.last_login_at is not None
        assert db.session.scalar(db.select(LoginAttempt.succeeded)) is True


def test_a_failed_login_is_recorded_and_still_throttles(file_app, other_connection, editor,
                                                         monkeypatch):
    from sqlalchemy import func

    from tracker.accounts.models import LoginAttempt

    email, _firm_id = editor
    file_app.config["LOGIN_ADDRESS_FREE_FAILURES"] = 1
    client = file_app.test_client()
    token = csrf_from(client.get("/login").get_data(as_text=True))
    with other_writes_while_hashing(monkeypatch, other_connection) as outcome:
        first = client.post("/login", data={"email": email, "password": "wrong-password-1",
                                            "csrf_token": token})
        second = client.post("/login", data={"email": email, "password": PASSWORD,
                                             "csrf_token": token})
    assert (first.status_code, second.status_code) == (401, 429)
    assert outcome == ["committed"]  # the throttled one never reached the hash
    with file_app.app_context():
        assert db.session.scalar(db.select(func.count(LoginAttempt.id))) == 1


def test_a_password_change_hashes_without_the_write_lock(file_app, other_connection, editor,
                                                         monkeypatch):
    from tracker.accounts.models import User

    email, _firm_id = editor
    client = _signed_in(file_app, email)
    page = client.get("/account/password").get_data(as_text=True)
    new = "Haihe-bridge-lantern-7"
    with other_writes_while_hashing(monkeypatch, other_connection) as outcome:
        response = client.post("/account/password", data={
            "csrf_token": csrf_from(page), "current": PASSWORD, "password": new,
            "confirm": new})
    assert response.status_code == 302, response.get_data(as_text=True)[:300]
    assert outcome == ["committed", "committed"]  # verify the current one, hash the new one
    with file_app.app_context():
        assert db.session.scalar(db.select(User).where(User.email == email)).check_password(new)


def test_a_password_reset_hashes_without_the_write_lock(file_app, other_connection, editor,
                                                        monkeypatch):
    from tracker.accounts import tokens
    from tracker.accounts.models import User

    email, _firm_id = editor
    with file_app.app_context():
        user = db.session.scalar(db.select(User).where(User.email == email))
        link = tokens.issue_reset_token(user)
        db.session.commit()
    client = file_app.test_client()
    page = client.get(f"/password/reset/{link}").get_data(as_text=True)
    new = "Haihe-bridge-lantern-7"
    with other_writes_while_hashing(monkeypatch, other_connection) as outcome:
        response = client.post(f"/password/reset/{link}", data={
            "csrf_token": csrf_from(page), "password": new, "confirm": new})
    assert response.status_code == 302, response.get_data(as_text=True)[:300]
    assert outcome == ["committed"]
    with file_app.app_context():
        assert db.session.scalar(db.select(User).where(User.email == email)).check_password(new)
        assert client.get(f"/password/reset/{link}").status_code == 404  # spent


# -- the app's CLI commands begin as writers, as tasks do --------------------------------------

def test_a_cli_command_begins_as_a_writer(file_app, other_connection, editor):
    """`flask users end-sessions` reads the user, then writes: another connection committing
    after its first read failed it with "database is locked" when it began deferred."""
    email, _firm_id = editor
    runner = file_app.test_cli_runner()
    with other_writes_after_first_read(file_app, other_connection) as outcome:
        result = runner.invoke(args=["users", "end-sessions", "--email", email])
    assert result.exit_code == 0, result.output + repr(result.exception)
    assert outcome == ["waits"]
    assert "ended 0 session(s)" in result.output


def test_a_cli_command_that_reads_at_length_begins_as_a_reader(file_app, other_connection,
                                                               editor):
    runner = file_app.test_cli_runner()
    # a plain click command: `flask` pushes the app context for it (FlaskGroup), here we do
    with (other_writes_after_first_read(file_app, other_connection) as outcome,
          file_app.app_context()):
        result = runner.invoke(args=["check", "--save"])
    assert outcome == ["committed"]
    assert result.exit_code in (0, 1), result.output + repr(result.exception)
    assert "consistent" in result.output or "violation" in result.output
    from tracker.integrity.models import IntegrityRun

    with file_app.app_context():
        assert db.session.scalar(db.select(IntegrityRun.trigger)) == "cli"  # saved after it


def test_an_admin_password_reset_and_a_new_account_hash_without_the_write_lock(
        file_app, other_connection, monkeypatch):
    from tracker.accounts.models import User

    with file_app.app_context():
        admin = make_user("admin")
        user = make_user("bureau")
        db.session.commit()
        admin_email, user_id, name = admin.email, user.id, user.name
    client = _signed_in(file_app, admin_email)
    page = client.get(f"/admin/users/{user_id}").get_data(as_text=True)
    with other_writes_while_hashing(monkeypatch, other_connection) as outcome:
        reset = client.post(f"/admin/users/{user_id}", data={
            "csrf_token": csrf_from(page), "name": name, "role": "bureau", "zone": "",
            "carrier_id": "", "locale": "zh_CN", "active": "y", "password": "Temp-Binhai-4471",
            "must_change": "y"})
        page = client.get("/admin/users/new").get_data(as_text=True)
        created = client.post("/admin/users/new", data={
            "csrf_token": csrf_from(page), "email": "new.officer@test.example", "name": "新专员",
            "role": "bureau", "zone": "", "carrier_id": "", "locale": "zh_CN", "active": "y",
            "password": "Haihe-bridge-lantern-7", "must_change": "y"})
    assert (reset.status_code, created.status_code) == (302, 302)
    assert outcome == ["committed", "committed"]
    with file_app.app_context():
        assert db.session.get(User, user_id).check_password("Temp-Binhai-4471")
        new = db.session.scalar(db.select(User).where(User.email == "new.officer@test.example"))
        assert new.check_password("Haihe-bridge-lantern-7") and new.must_change_password
