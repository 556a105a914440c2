"""The app as gunicorn serves it for `make bench`, plus one trivial route as the yardstick."""

from __future__ import annotations

from config import Config
from tracker import create_app


class BenchConfig(Config):
    #: the bench logs in with a plain POST; everything else is the production configuration
    WTF_CSRF_ENABLED = False


app = create_app(BenchConfig)


@app.get("/_bench/ping")
def ping() -> str:
    """What a request costs with no work: the yardstick for req/s ratios."""
    return "ok"
