"""Settings read from the environment; SQLite and an embedded broker by default."""

from __future__ import annotations

import os
from pathlib import Path

BASE_DIR = Path(__file__).resolve().parent
INSTANCE_DIR = Path(os.environ.get("INSTANCE_DIR", BASE_DIR / "instance"))


def _bool(name: str, default: bool = False) -> bool:
    value = os.environ.get(name)
    if value is None:
        return default
    return value.strip().lower() in {"1", "true", "yes", "on"}


def _database_url() -> str:
    url = os.environ.get("DATABASE_URL", "").strip()
    if not url:
        return f"sqlite:///{INSTANCE_DIR / 'tracker.db'}"
    # Heroku-style URLs still say postgres://; SQLAlchemy 2 only knows postgresql://.
    if url.startswith("postgres://"):
        url = "postgresql://" + url[len("postgres://") :]
    return url


#: the delivery workers' queue (Celery's default name) and beat's sweeps' own: a sweep or a reap
#: must not wait behind thousands of queued sends, and it needs one slot, not the senders'
DELIVERY_QUEUE = "celery"
#: the tasks beat runs every few minutes to find and reclaim work (README, "Deployment") name
#: it on their own decorator (`queue=SWEEP_QUEUE`), so a renamed task keeps its queue
SWEEP_QUEUE = "sweeps"


def _celery_settings(redis_url: str | None) -> dict:
    """Redis when REDIS_URL is set, else kombu's SQLAlchemy transport on a local SQLite file."""
    if redis_url:
        broker = redis_url
        transport_options = {
            # A web request must never hang on Redis: fail fast and let the sweep catch up.
            # (worker.py gives the long-running consumers a more patient socket.)
            "socket_connect_timeout": 1,
            "socket_timeout": 1,
            "visibility_timeout": 3600,
            "max_retries": 0,
        }
    else:
        broker = f"sqla+sqlite:///{INSTANCE_DIR / 'celery-broker.db'}"
        # passed to create_engine: web, worker and beat wait up to 30 s for each other's
        # write lock on the broker file instead of failing (the file is in WAL mode too)
        transport_options = {"connect_args": {"timeout": 30}}
    return {
        "broker_url": broker,
        "task_ignore_result": True,
        "broker_transport_options": transport_options,
        "broker_connection_retry_on_startup": True,
        "task_acks_late": True,
        "task_reject_on_worker_lost": True,
        "worker_prefetch_multiplier": 1,
        "timezone": "Asia/Shanghai",
        "enable_utc": True,
        # a worker started without -Q consumes every queue named here (tests, chaos, a
        # laptop); the Procfile gives the sweeps a worker of their own
        "task_default_queue": DELIVERY_QUEUE,
        "task_queues": {DELIVERY_QUEUE: {}, SWEEP_QUEUE: {}},
    }


class Config:
    #: "production" turns on the start-up checks in tracker.security (and ProductionConfig)
    TRACKER_ENV = os.environ.get("TRACKER_ENV", "development").strip().lower()
    #: no built-in default: production refuses to start without a real key, development
    #: generates one into <instance>/secret_key (tracker.security.configure_secret_key)
    SECRET_KEY = os.environ.get("SECRET_KEY") or None
    #: reverse proxies in front of the app that append X-Forwarded-For / -Proto; 0 = none,
    #: and then those headers are ignored (a client could otherwise choose its own address)
    TRUSTED_PROXIES = int(os.environ.get("TRUSTED_PROXIES", "0"))
    SQLALCHEMY_DATABASE_URI = _database_url()
    SQLALCHEMY_ENGINE_OPTIONS: dict = {}
    #: a pooled connection idle longer than this is pinged before use, as pool_pre_ping does;
    #: a page view gets one used more recently unpinged, and is run once more if it meets a
    #: dropped one; POSTs, tasks and commands are always pinged (tracker.connections).
    #: 0 pings every time; None (a config class of its own, e.g. the tests') not at all
    DB_PING_IDLE_SECONDS: float | None = float(os.environ.get("DB_PING_IDLE_SECONDS") or 5)
    REDIS_URL = os.environ.get("REDIS_URL") or None
    CELERY = _celery_settings(REDIS_URL)
    #: how old the dashboard's full-register figures may be (shown on the page); 0 = always fresh
    DASHBOARD_CACHE_SECONDS = int(os.environ.get("DASHBOARD_CACHE_SECONDS", "300"))

    BABEL_DEFAULT_LOCALE = "zh_CN"
    BABEL_DEFAULT_TIMEZONE = "Asia/Shanghai"
    LANGUAGES = {"zh_CN": "中文", "en": "English"}

    SESSION_COOKIE_HTTPONLY = True
    SESSION_COOKIE_SAMESITE = "Lax"
    SESSION_COOKIE_SECURE = _bool("SESSION_COOKIE_SECURE", False)
    REMEMBER_COOKIE_SECURE = SESSION_COOKIE_SECURE
    REMEMBER_COOKIE_HTTPONLY = True
    WTF_CSRF_TIME_LIMIT = None  # forms stay valid for the whole session

    #: failed logins are counted over this window, per address and per account
    LOGIN_WINDOW_SECONDS = int(os.environ.get("LOGIN_WINDOW_SECONDS", "900"))
    #: failures from one address (any account) before the wait starts doubling from 1 s
    LOGIN_ADDRESS_FREE_FAILURES = int(os.environ.get("LOGIN_ADDRESS_FREE_FAILURES", "5"))
    LOGIN_ADDRESS_MAX_DELAY = int(os.environ.get("LOGIN_ADDRESS_MAX_DELAY", "900"))
    #: failures on one account (any address) before its wait starts; it applies only to
    #: addresses that have failed recently, so others' guesses never lock the owner out
    LOGIN_ACCOUNT_FREE_FAILURES = int(os.environ.get("LOGIN_ACCOUNT_FREE_FAILURES", "10"))
    LOGIN_ACCOUNT_MAX_DELAY = int(os.environ.get("LOGIN_ACCOUNT_MAX_DELAY", "300"))

    #: a signed-in session without "remember me" ends this long after login
    SESSION_LIFETIME_HOURS = int(os.environ.get("SESSION_LIFETIME_HOURS", "12"))
    #: "remember me" keeps a session this long after login, however often the token rotates
    REMEMBER_LIFETIME_DAYS = int(os.environ.get("REMEMBER_LIFETIME_DAYS", "14"))
    #: write a session's last-seen time at most this often (one UPDATE, not one per request)
    SESSION_TOUCH_SECONDS = int(os.environ.get("SESSION_TOUCH_SECONDS", "300"))
    PASSWORD_RESET_MINUTES = int(os.environ.get("PASSWORD_RESET_MINUTES", "60"))
    CALENDAR_TOKEN_DAYS = int(os.environ.get("CALENDAR_TOKEN_DAYS", "365"))

    PAGE_SIZE = int(os.environ.get("PAGE_SIZE", "25"))
    #: the reminder ledger counts each status up to this many rows and shows more as "N+"
    #: (a count over every sent reminder would grow with the ledger: tracker.reminders.counts)
    LEDGER_COUNT_CAP = int(os.environ.get("LEDGER_COUNT_CAP", "10000"))
    #: touched firms one commit handles itself (eligibility, then reminders: tracker.changes);
    #: a bigger commit, an import, hands both stages to workers and the scheduled runs
    CHANGES_INLINE_LIMIT = int(os.environ.get("CHANGES_INLINE_LIMIT", "200"))
    #: firms per task message of such a bulk commit (each worker commits in smaller chunks)
    CHANGES_TASK_IDS = int(os.environ.get("CHANGES_TASK_IDS", "2000"))
    # Stored month-ends a backdated change makes wrong: up to this many are rewritten inside
    # the commit (each replays the zone's history, ~0.1 s on 3,000 firms); more go to a worker
    # and the trend chart shows them as pending (tracker.dashboard.redo).
    MONTH_REDO_INLINE_MONTHS = int(os.environ.get("MONTH_REDO_INLINE_MONTHS", "3"))
    MAX_CONTENT_LENGTH = int(os.environ.get("MAX_UPLOAD_MB", "20")) * 1024 * 1024
    UPLOAD_DIR = os.environ.get("UPLOAD_DIR", str(INSTANCE_DIR / "uploads"))
    #: stored uploads and reconciliation lists are deleted this many days after their last use
    #: (tracker/imports/retention.py says which files are kept longer)
    UPLOAD_RETENTION_DAYS = int(os.environ.get("UPLOAD_RETENTION_DAYS", "90"))

    #: a SQLite writer waits this long for another's lock before "database is locked"
    SQLITE_BUSY_TIMEOUT_MS = int(os.environ.get("SQLITE_BUSY_TIMEOUT_MS", "10000"))
    #: a background task tries a unit of work this often after a transient database error,
    #: waiting TASK_RETRY_BASE_SECONDS, then twice that, and so on
    TASK_RETRY_ATTEMPTS = int(os.environ.get("TASK_RETRY_ATTEMPTS", "5"))
    TASK_RETRY_BASE_SECONDS = float(os.environ.get("TASK_RETRY_BASE_SECONDS", "0.5"))
    #: a job queued or running (without progress) longer than this is re-queued by the reaper,
    #: and failed with the reason after JOB_MAX_ATTEMPTS hand-offs
    JOB_STUCK_SECONDS = int(os.environ.get("JOB_STUCK_SECONDS", str(15 * 60)))
    JOB_MAX_ATTEMPTS = int(os.environ.get("JOB_MAX_ATTEMPTS", "3"))

    SMTP_URL = os.environ.get("SMTP_URL", "")
    MAIL_FROM = os.environ.get("MAIL_FROM", "tracker@localhost")
    MAIL_DIR = os.environ.get("MAIL_DIR", str(INSTANCE_DIR / "mail"))
    #: links in emails; by default the address `make run` serves (PORT), so they are not dead
    BASE_URL = os.environ.get("BASE_URL") or f"http://127.0.0.1:{os.environ.get('PORT') or 5000}"

    #: personal API tokens (tracker/accounts/api_tokens.py): default lifetime, and per token
    #: at most API_RATE_LIMIT requests in each API_RATE_WINDOW_SECONDS (shared through Redis
    #: when REDIS_URL is set, else counted in each process)
    API_TOKEN_DAYS = int(os.environ.get("API_TOKEN_DAYS", "365"))
    API_RATE_LIMIT = int(os.environ.get("API_RATE_LIMIT", "600"))
    API_RATE_WINDOW_SECONDS = int(os.environ.get("API_RATE_WINDOW_SECONDS", "60"))


class ProductionConfig(Config):
    TRACKER_ENV = "production"
    #: Strict-Transport-Security max-age: browsers keep to HTTPS for a year once they have seen
    #: the site over TLS (the README's reverse proxy terminates it)
    HSTS_SECONDS = int(os.environ.get("HSTS_SECONDS", str(365 * 24 * 3600)))
    SESSION_COOKIE_SECURE = _bool("SESSION_COOKIE_SECURE", True)
    REMEMBER_COOKIE_SECURE = SESSION_COOKIE_SECURE


class TestConfig(Config):
    TESTING = True
    DASHBOARD_CACHE_SECONDS = 0  # tests compare the figures with fresh queries
    TASK_RETRY_BASE_SECONDS = 0.05  # tests need the retry, not the wait
    SECRET_KEY = "test-secret"  # noqa: S105 - test only
    SQLALCHEMY_DATABASE_URI = os.environ.get("TEST_DATABASE_URL", "sqlite://")
    SQLALCHEMY_ENGINE_OPTIONS: dict = {}
    DB_PING_IDLE_SECONDS = None  # no ping in tests, as before (tests that need it set it)
    WTF_CSRF_ENABLED = True
    TRACKER_ENV = "test"
    TRUSTED_PROXIES = 0
    CELERY = {**_celery_settings(None), "broker_url": "memory://"}
    SERVER_NAME = "tracker.test"
    FAST_PASSWORD_HASHES = True
