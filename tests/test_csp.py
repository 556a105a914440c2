"""No inline script anywhere, a strict CSP on every response, HSTS in production.

Every GET route of the URL map is rendered for an admin on the demo data, and the links those
pages show are followed once, so the pages with confirm buttons (proposals, application moves,
contacts, a running import) are among them. Nothing is listed by hand.
"""

from __future__ import annotations

import re
from urllib.parse import urlsplit

import pytest

from config import ProductionConfig, TestConfig
from tracker import create_app
from tracker.demo import DEMO_PASSWORD, load_demo
from tracker.extensions import db
from tracker.headers import CONTENT_SECURITY_POLICY
from tracker.imports.models import ImportJob

pytestmark = pytest.mark.live

INLINE_SCRIPT = re.compile(r"<script(?![^>]*\bsrc=)[^>]*>", re.IGNORECASE)
INLINE_HANDLER = re.compile(r"\son[a-z]+\s*=", re.IGNORECASE)
JAVASCRIPT_URL = re.compile(r"""(?:href|src|action|formaction)\s*=\s*["']?\s*javascript:""",
                            re.IGNORECASE)
LINK = re.compile(r'href="(/[^"#]*)"')


@pytest.fixture(scope="module")
def demo_app(tmp_path_factory):
    """The app with demo data committed to a SQLite file and a running import job."""
    folder = tmp_path_factory.mktemp("csp")

    class PagesConfig(TestConfig):
        SQLALCHEMY_DATABASE_URI = f"sqlite:///{folder / 'pages.db'}"
        UPLOAD_DIR = str(folder / "uploads")
        MAIL_DIR = str(folder / "mail")
        WTF_CSRF_ENABLED = False  # the crawl signs in with a plain post

    app = create_app(PagesConfig)
    with app.app_context():
        db.create_all()
        load_demo(12)
        db.session.add(ImportJob(kind="enterprises", filename="名单.xlsx",
                                 stored_path="imports/none.xlsx", status="running",
                                 options={"estimated_rows": 100}))
        db.session.commit()
    yield app
    with app.app_context():
        db.session.remove()
        db.engine.dispose()


def _get_paths(app) -> list[str]:
    paths = []
    for rule in sorted(app.url_map.iter_rules(), key=lambda r: r.rule):
        if "GET" not in rule.methods or rule.endpoint == "static":
            continue
        path = rule.rule
        for name in rule.arguments:
            path = re.sub(rf"<(?:[^:<>]+:)?{name}>", "1", path)
        paths.append(path)
    return paths


def test_no_page_has_inline_script_and_every_response_has_the_policy(demo_app):
    client = demo_app.test_client()
    answer = client.post("/login", data={"email": "admin@demo.binhai",
                                         "password": DEMO_PASSWORD})
    assert answer.status_code == 302
    queue = _get_paths(demo_app)
    seen: set[str] = set()
    by_route: dict[str, int] = {}
    html_pages = 0
    problems: list[str] = []
    while queue:
        path = queue.pop(0)
        if path in seen or path.startswith(("/logout", "/static/")):
            continue
        seen.add(path)
        response = client.get(path)
        if response.headers.get("Content-Security-Policy") != CONTENT_SECURITY_POLICY:
            problems.append(f"{path}: no CSP ({response.status_code})")
        if response.mimetype != "text/html":
            continue
        html_pages += 1
        html = response.get_data(as_text=True)
        for name, pattern in (("<script> without src", INLINE_SCRIPT),
                              ("inline handler", INLINE_HANDLER),
                              ("javascript: URL", JAVASCRIPT_URL)):
            found = pattern.search(html)
            if found:
                problems.append(f"{path}: {name}: {html[found.start():found.start() + 80]!r}")
        for link in LINK.findall(html):
            target = urlsplit(link).path
            # one page per route shape is enough: ids differ, templates do not
            shape = re.sub(r"/\d+", "/N", target)
            if by_route.get(shape, 0) < 2 and target not in seen:
                by_route[shape] = by_route.get(shape, 0) + 1
                queue.append(target)
    assert not problems, problems
    assert html_pages > 60, html_pages  # the crawl really reached the pages


def test_the_pages_with_confirm_dialogs_ask_through_data_attributes(demo_app):
    client = demo_app.test_client()
    client.post("/login", data={"email": "admin@demo.binhai", "password": DEMO_PASSWORD})
    with demo_app.app_context():
        job_id = db.session.scalar(db.select(ImportJob.id).where(ImportJob.status == "running"))
    html = client.get(f"/imports/{job_id}").get_data(as_text=True)
    assert 'data-confirm="' in html and "data-progress-url=" in html
    assert "/static/tracker.js" in html


def test_hsts_only_in_production(demo_app, tmp_path):
    response = demo_app.test_client().get("/login")
    assert "Strict-Transport-Security" not in response.headers

    class Production(ProductionConfig):
        SQLALCHEMY_DATABASE_URI = f"sqlite:///{tmp_path / 'prod.db'}"
        SECRET_KEY = "x" * 64  # noqa: S105 - test only
        SERVER_NAME = "tracker.test"

    production = create_app(Production)
    with production.app_context():
        db.create_all()
    answer = production.test_client().get("/login", base_url="https://tracker.test")
    assert answer.headers["Strict-Transport-Security"].startswith("max-age=31536000")
    assert answer.headers["Content-Security-Policy"] == CONTENT_SECURITY_POLICY
    with production.app_context():
        db.engine.dispose()
