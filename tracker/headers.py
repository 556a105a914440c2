"""Content-Security-Policy on every response, and HSTS in production.

Scripts come only from this origin (tracker/static/tracker.js carries what inline handlers
used to do), so an injected `<script>` or `onclick=` would not run even if escaping failed.
"""

from __future__ import annotations

from flask import current_app
from werkzeug.wrappers import Response

CONTENT_SECURITY_POLICY = "; ".join([
    "default-src 'self'",
    "script-src 'self'",
    # 'unsafe-inline' for styles only: templates set data-driven widths with style attributes
    # (progress bars, column widths) that no fixed class can express, and a style attribute
    # cannot run script; <style> blocks and styles from other origins still have no place.
    "style-src 'self' 'unsafe-inline'",
    # Bootstrap's stylesheet draws select arrows, checkboxes and the navbar toggler as data: SVGs
    "img-src 'self' data:",
    "object-src 'none'",
    "base-uri 'self'",
    "frame-ancestors 'none'",
    "form-action 'self'",
])


def add_policy_headers(response: Response) -> Response:
    """Set the CSP, and Strict-Transport-Security when HSTS_SECONDS is set (production)."""
    response.headers.setdefault("Content-Security-Policy", CONTENT_SECURITY_POLICY)
    seconds = int(current_app.config.get("HSTS_SECONDS") or 0)
    if seconds:
        response.headers.setdefault("Strict-Transport-Security",
                                    f"max-age={seconds}; includeSubDomains")
    return response
