"""The app as gunicorn serves it for `make bench`, plus one trivial route as the yardstick."""

from __future__ import annotations

from bench import app_for

#: the bench logs in with a plain POST; everything else is the production configuration
app = app_for(WTF_CSRF_ENABLED=False)


@app.get("/_bench/ping")
def ping() -> str:
    """What a request costs with no work: the yardstick for req/s ratios."""
    return "ok"
