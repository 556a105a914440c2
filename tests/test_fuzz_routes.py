"""Every route from the URL map, fed hostile input as each role: no answer may be a 500.

The routes come from the app's URL map, the query parameters from what each view actually
reads (recorded while the pages are crawled), and the form fields from the forms the pages
render, submitted as a browser would with one field replaced at a time. Nothing is listed by
hand, so a new route or field is fuzzed the day it lands. The suite tries a few values per
parameter; `FUZZ_LEVEL=full` (a step of .ci/run) tries every hostile value as every role.
"""

from __future__ import annotations

import base64
import os
import uuid
from collections import defaultdict
from urllib.parse import urlencode, urlsplit

import pytest
from sqlalchemy import create_engine, text

from config import TestConfig
from tests.conftest import POSTGRES_URL, require_service
from tests.route_support import Forms, fill_path, int_params
from tracker import create_app
from tracker.demo import DEMO_PASSWORD, DEMO_USERS, load_demo
from tracker.extensions import db
from tracker.inputs import BoundedParameters, TrackerRequest

pytestmark = pytest.mark.live

FULL = os.environ.get("FUZZ_LEVEL", "").lower() == "full"


def _cursor(raw: str) -> str:
    return base64.urlsafe_b64encode(raw.encode()).decode().rstrip("=")


#: what an attacker or a broken client sends; each value is tried in every parameter
HOSTILE = [
    "a\x00b",
    "9" * 30,
    "Infinity",
    "sNaN",
    "1E+400",
    "2026-02-30",
    "x\r\nBcc: victim@example.com",
    "长" * 20000,
    _cursor('["x", Infinity]'),
    _cursor("[1e999, 99999999999999999999999999999]"),
]
#: the suite's list for the admin (FUZZ_LEVEL=full tries all of HOSTILE for every role)
HOSTILE_MEDIUM = ["a\x00b", "9" * 30, "Infinity", "sNaN", "x\r\ny", _cursor('["x", Infinity]')]
#: the other roles see the admin's pages through a scope: a few values reach their code paths
HOSTILE_SHORT = ["a\x00b", "9" * 30, "1E+400"]
#: parameters fuzzed even where the crawl did not see them read (the login page's `next`)
COMMON_ARGS = ("next",)

_READ_KEYS: dict[str, set[str]] = defaultdict(set)


class _RecordingDict(BoundedParameters):
    """Query and form data that remember which keys the view asked for."""

    def _note(self, key):
        from flask import request

        if isinstance(key, str):
            _READ_KEYS[request.endpoint or "?"].add(key)

    def get(self, key, default=None, type=None):  # noqa: A002 - werkzeug's signature
        self._note(key)
        return super().get(key, default, type)

    def getlist(self, key, type=None):  # noqa: A002
        self._note(key)
        return super().getlist(key, type)

    def __getitem__(self, key):
        self._note(key)
        return super().__getitem__(key)

    def __contains__(self, key):
        self._note(key)
        return super().__contains__(key)


class _RecordingRequest(TrackerRequest):
    parameter_storage_class = _RecordingDict


def _database_url(tmp_path_factory):
    url = TestConfig.SQLALCHEMY_DATABASE_URI
    if not url.startswith("postgresql"):
        return f"sqlite:///{tmp_path_factory.mktemp('fuzz') / 'fuzz.db'}", None
    require_service("PostgreSQL", POSTGRES_URL, 5432)
    name = f"fuzz_{uuid.uuid4().hex[:8]}"
    admin = create_engine(url, isolation_level="AUTOCOMMIT")
    with admin.connect() as conn:
        conn.execute(text(f'CREATE DATABASE "{name}"'))
    return url.rsplit("/", 1)[0] + f"/{name}", (admin, name)


@pytest.fixture(scope="module")
def fuzz_app(tmp_path_factory):
    """A committed demo database served with CSRF off, so hostile posts reach validation."""
    url, cleanup = _database_url(tmp_path_factory)
    folder = tmp_path_factory.mktemp("fuzz-files")

    class FuzzConfig(TestConfig):
        SQLALCHEMY_DATABASE_URI = url
        WTF_CSRF_ENABLED = False
        PROPAGATE_EXCEPTIONS = False  # a crash must come back as the 500 a user would see
        # hostile logins are part of the run; throttling them is tests/accounts' subject
        LOGIN_ADDRESS_FREE_FAILURES = LOGIN_ACCOUNT_FREE_FAILURES = 10**6
        UPLOAD_DIR = str(folder / "uploads")
        MAIL_DIR = str(folder / "mail")

    app = create_app(FuzzConfig)
    app.request_class = _RecordingRequest
    with app.app_context():
        db.create_all()
        load_demo(12)
        db.session.commit()
    yield app
    with app.app_context():
        db.session.remove()
        db.engine.dispose()
    if cleanup:
        admin, name = cleanup
        with admin.connect() as conn:
            conn.execute(text(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)'))
        admin.dispose()


class _Fuzzer:
    def __init__(self, app, email: str) -> None:
        self.app = app
        self.client = app.test_client()
        self.requests = 0
        self.errors: list[str] = []
        response = self.client.post("/login", data={"email": email, "password": DEMO_PASSWORD})
        assert response.status_code == 302, f"{email} could not log in"

    def send(self, method: str, url: str, **kwargs):
        self.requests += 1
        response = self.client.open(url, method=method, **kwargs)
        if response.status_code >= 500:
            data = kwargs.get("data")
            shown = {k: v[:40] for k, v in data.items()} if isinstance(data, dict) else ""
            self.errors.append(f"{response.status_code} {method} {url[:160]} {shown}"[:400])
            print("FUZZ", self.errors[-1], flush=True)
        return response

    def rules(self):
        for rule in sorted(self.app.url_map.iter_rules(), key=lambda r: r.rule):
            if rule.endpoint == "static" or rule.rule in ("/logout",):
                continue
            yield rule

    def run(self, values: list[str], fuzz_forms: bool) -> None:
        forms: dict[str, dict[str, str]] = {}
        for rule in self.rules():
            path = fill_path(rule, {"year": 2025})
            for name in int_params(rule):
                self.send("GET", fill_path(rule, {name: "9" * 30, "year": 2025}))
            if "GET" in rule.methods:
                page = self.send("GET", path)
                if page.mimetype == "text/html":
                    parser = Forms()
                    parser.feed(page.get_data(as_text=True))
                    for action, fields in parser.forms:
                        target = urlsplit(action).path or path
                        if target != "/logout":
                            forms.setdefault(target, fields)
                keys = _READ_KEYS.get(rule.endpoint, set()) | set(COMMON_ARGS)
                for key in sorted(keys):
                    for value in values:
                        self.send("GET", f"{path}?{urlencode({key: value})}")
            if "POST" in rule.methods and path not in forms:
                self.send("POST", path, data={})
                fields = {key: "1" for key in _READ_KEYS.get(rule.endpoint, ())}
                forms.setdefault(path, fields)
        if not fuzz_forms:
            return
        for target, fields in sorted(forms.items()):
            for name in sorted(fields):
                for value in values:
                    self.send("POST", target, data={**fields, name: value})

    def api(self) -> None:
        deep = "[" * 100_000 + "]" * 100_000
        for body, kind in ((deep, "application/json"), ("{", "application/json"),
                           ('{"facts": {"revenue": 1e999}}', "application/json"),
                           ("\x00", "text/plain")):
            response = self.send("POST", "/api/v1/eligibility/evaluate", data=body,
                                 content_type=kind)
            assert response.is_json, f"API answered {response.mimetype} to a bad body"


@pytest.mark.parametrize(("email", "role"), [(u[0], u[2]) for u in DEMO_USERS])
def test_no_input_gives_a_server_error(fuzz_app, email, role):
    fuzzer = _Fuzzer(fuzz_app, email)
    if FULL:
        values = HOSTILE
    else:
        values = HOSTILE_MEDIUM if role == "admin" else HOSTILE_SHORT
    fuzzer.run(values, fuzz_forms=True)
    fuzzer.api()
    print(f"{role}: {fuzzer.requests} requests")
    assert not fuzzer.errors, f"{len(fuzzer.errors)} server errors:\n" + "\n".join(
        fuzzer.errors[:60])
