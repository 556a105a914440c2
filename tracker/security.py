"""Start-up checks a production deployment must pass, and the development key file."""

from __future__ import annotations

import contextlib
import os
import secrets
from pathlib import Path

#: keys that have ever shipped in the source; anyone can sign sessions with them
KNOWN_DEVELOPMENT_KEYS = frozenset({"dev-only-secret-change-me"})
MIN_SECRET_KEY_BYTES = 32
KEY_FILE = "secret_key"


class InsecureConfiguration(RuntimeError):
    """The app refuses to start: a production setting is missing or unsafe."""


def is_production(config_value: str | None) -> bool:
    """TRACKER_ENV=production (from the environment or the config object) turns the checks on."""
    values = (os.environ.get("TRACKER_ENV"), config_value)
    return any((value or "").strip().lower() == "production" for value in values)


def check_secret_key(key: str | bytes | None, *, production: bool) -> None:
    """Raise InsecureConfiguration when production would run on a guessable key."""
    if not production:
        return
    raw = key.encode() if isinstance(key, str) else (key or b"")
    if not raw:
        problem = "SECRET_KEY is not set"
    elif raw.decode(errors="ignore") in KNOWN_DEVELOPMENT_KEYS:
        problem = "SECRET_KEY is the built-in development key"
    elif len(raw) < MIN_SECRET_KEY_BYTES:
        problem = f"SECRET_KEY is shorter than {MIN_SECRET_KEY_BYTES} bytes"
    else:
        return
    raise InsecureConfiguration(
        f"{problem}; refusing to start with TRACKER_ENV=production. Anyone who knows or "
        "guesses the key can sign a session as any user. Set SECRET_KEY to a random value, "
        "e.g. the output of: python -c 'import secrets; print(secrets.token_urlsafe(48))'"
    )


def development_secret_key(instance_dir: str | Path) -> str:
    """The key in <instance>/secret_key, created 0600 on first start and reused afterwards.

    Web, worker and beat start together under `make run`; the key is written to a private
    temporary file and hard-linked into place, so exactly one process's key wins and no
    process ever reads a half-written file.
    """
    folder = Path(instance_dir)
    folder.mkdir(parents=True, exist_ok=True)
    path = folder / KEY_FILE
    if not path.exists():
        tmp = folder / f".{KEY_FILE}.{os.getpid()}.{secrets.token_hex(4)}"
        fd = os.open(tmp, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
        try:
            with os.fdopen(fd, "w") as handle:
                handle.write(secrets.token_urlsafe(48) + "\n")
            with contextlib.suppress(FileExistsError):  # another process won: use its key
                os.link(tmp, path)
        finally:
            tmp.unlink(missing_ok=True)
    key = path.read_text().strip()
    if len(key.encode()) < MIN_SECRET_KEY_BYTES:
        raise InsecureConfiguration(f"{path} holds a key shorter than {MIN_SECRET_KEY_BYTES} "
                                    "bytes; delete it to have a new one generated")
    return key


def apply_trusted_proxies(app) -> None:
    """Honour X-Forwarded-For/-Proto only from the configured number of proxies.

    Without this every client behind the README's reverse proxy shares one address (and
    login throttling punishes all of them); with it on a host reachable directly, a client
    could pick its own address. Hence off by default and a count, not a switch.
    """
    count = int(app.config.get("TRUSTED_PROXIES") or 0)
    if count < 0:
        raise InsecureConfiguration("TRUSTED_PROXIES must be 0 or a positive count of proxies")
    if count:
        from werkzeug.middleware.proxy_fix import ProxyFix

        app.wsgi_app = ProxyFix(app.wsgi_app, x_for=count, x_proto=count)


def configure_secret_key(app) -> None:
    """Production: check the configured key. Development: fall back to the instance key."""
    production = is_production(app.config.get("TRACKER_ENV"))
    key = app.config.get("SECRET_KEY")
    if production:
        check_secret_key(key, production=True)
        return
    if not key or key in KNOWN_DEVELOPMENT_KEYS:
        app.config["SECRET_KEY"] = development_secret_key(app.instance_path)
