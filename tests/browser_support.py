"""Shared pieces of the browser tests: a live demo server, Debian's Chromium, logging in."""

from __future__ import annotations

import shutil
import threading
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any

import pytest
from flask import Flask
from werkzeug.serving import make_server

from config import TestConfig
from tests.conftest import IN_CI
from tracker import create_app
from tracker.demo import DEMO_PASSWORD, load_demo
from tracker.extensions import db

CHROMIUM = shutil.which("chromium") or shutil.which("chromium-browser")
CHROMIUM_FLAGS = [
    "--headless", "--no-sandbox", "--disable-gpu", "--disable-quic", "--no-first-run",
    "--disable-background-networking", "--disable-component-update", "--disable-sync",
]


def require_chromium() -> None:
    """Skip on a laptop without Chromium; fail under CI, where it must be installed."""
    if CHROMIUM is None:
        if IN_CI:
            pytest.fail("chromium is required under CI")
        pytest.skip("chromium is not installed")


@contextmanager
def serve_demo(folder: Path, n_enterprises: int = 24,
               **settings: Any) -> Iterator[tuple[Flask, str]]:
    """The app with demo data in a SQLite file under `folder`, served on a free loopback port."""
    require_chromium()

    class LiveConfig(TestConfig):
        SQLALCHEMY_DATABASE_URI = f"sqlite:///{folder / 'live.db'}"
        SERVER_NAME = None

    for key, value in settings.items():
        setattr(LiveConfig, key, value)
    app = create_app(LiveConfig)
    with app.app_context():
        db.create_all()
        load_demo(n_enterprises)
        db.session.commit()
    server = make_server("127.0.0.1", 0, app, threaded=True)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    try:
        yield app, f"http://127.0.0.1:{server.server_port}"
    finally:
        server.shutdown()
        with app.app_context():
            db.engine.dispose()


@contextmanager
def serve_demo_in(tmp_path_factory: Any, name: str, n_enterprises: int = 24,
                  **settings: Any) -> Iterator[tuple[Flask, str]]:
    """serve_demo in a fresh temporary folder that also takes the uploads and the mail."""
    folder: Path = tmp_path_factory.mktemp(name)
    settings.setdefault("UPLOAD_DIR", str(folder / "uploads"))
    settings.setdefault("MAIL_DIR", str(folder / "mail"))
    with serve_demo(folder, n_enterprises, **settings) as served:
        yield served


@contextmanager
def launch_chromium() -> Iterator[Any]:
    """A headless Debian Chromium driven by Playwright."""
    from playwright.sync_api import sync_playwright

    require_chromium()
    with sync_playwright() as p:
        instance = p.chromium.launch(executable_path=CHROMIUM, args=CHROMIUM_FLAGS)
        try:
            yield instance
        finally:
            instance.close()


def login(page: Any, base: str, email: str) -> None:
    """Sign in through the login form as a demo user and land on the dashboard."""
    page.goto(f"{base}/login")
    page.fill("input[name=email]", email)
    page.fill("input[name=password]", DEMO_PASSWORD)
    page.click("button[type=submit]")
    page.wait_for_url(f"{base}/")


def switch_to_english(page: Any) -> None:
    """Press the navbar's English switch if shown (the choice is remembered per user)."""
    switch = page.locator("nav form button:has-text('English')")
    if switch.count():
        switch.click()
        page.wait_for_load_state()
