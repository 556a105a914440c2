"""Fixtures for accounts: a real SMTP sink for the reset mail."""

from __future__ import annotations

import pytest

from bench.smtpsink import FlakyHandler, SmtpSink


@pytest.fixture
def smtp(app):
    """A real aiosmtpd server on loopback; the app sends to it while the test runs."""
    sink = SmtpSink(FlakyHandler())
    with sink:
        previous = app.config.get("SMTP_URL")
        app.config["SMTP_URL"] = sink.url
        try:
            yield sink
        finally:
            app.config["SMTP_URL"] = previous


@pytest.fixture
def restore_celery(app):
    """Building another app makes its Celery the default; hand it back to the session's app."""
    yield
    celery = app.extensions["celery"]
    celery.set_current()  # Celery() made the new one current as well as default
    celery.set_default()
