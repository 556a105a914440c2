"""Fixtures for webhooks: a real HTTP receiver on loopback that checks every signature."""

from __future__ import annotations

import hashlib
import hmac
import json
import threading
import time
from dataclasses import dataclass, field
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

import pytest

from tracker.webhooks import services

SECRET = "whsec_test-secret-0123456789"


@dataclass
class Reply:
    """What the receiver answers to one request (the last one repeats)."""

    status: int = 200
    delay: float = 0.0  # seconds before the status line
    drip: float = 0.0  # seconds between body bytes (a slow receiver)
    body: bytes = b"ok"
    headers: dict[str, str] = field(default_factory=dict)


@dataclass
class Received:
    path: str
    headers: dict[str, str]
    body: bytes
    signature_ok: bool
    status: int

    @property
    def json(self) -> dict:
        return json.loads(self.body)


class Receiver:
    """A tiny http.server in a thread: scripted replies, every request kept."""

    def __init__(self, secret: str = SECRET) -> None:
        self.secret = secret
        self.replies: list[Reply] = [Reply()]
        self.requests: list[Received] = []
        receiver = self

        class Handler(BaseHTTPRequestHandler):
            def log_message(self, *args):  # quiet
                pass

            def do_POST(self):  # noqa: N802 - http.server's name
                length = int(self.headers.get("Content-Length") or 0)
                body = self.rfile.read(length)
                reply = receiver.replies.pop(0) if len(receiver.replies) > 1 \
                    else receiver.replies[0]
                timestamp = self.headers.get("X-Tracker-Timestamp", "")
                expected = "sha256=" + hmac.new(receiver.secret.encode(),
                                                timestamp.encode() + b"." + body,
                                                hashlib.sha256).hexdigest()
                ok = hmac.compare_digest(expected, self.headers.get("X-Tracker-Signature", ""))
                receiver.requests.append(Received(self.path, dict(self.headers), body, ok,
                                                  reply.status))
                if reply.delay:
                    time.sleep(reply.delay)
                try:
                    self.send_response(reply.status if ok else 401)
                    for name, value in reply.headers.items():
                        self.send_header(name, value)
                    self.send_header("Content-Length", str(len(reply.body)))
                    self.end_headers()
                    for byte in reply.body:
                        self.wfile.write(bytes([byte]))
                        self.wfile.flush()
                        if reply.drip:
                            time.sleep(reply.drip)
                except OSError:
                    pass  # the sender hung up (its deadline): that is the point

        self.server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self.server.daemon_threads = True
        self.url = f"http://127.0.0.1:{self.server.server_address[1]}/hook"
        self.thread = threading.Thread(target=self.server.serve_forever, daemon=True)

    def __enter__(self) -> Receiver:
        self.thread.start()
        return self

    def __exit__(self, *exc) -> None:
        self.server.shutdown()
        self.server.server_close()

    @property
    def accepted(self) -> list[Received]:
        return [r for r in self.requests if r.signature_ok and 200 <= r.status < 300]


@pytest.fixture
def receiver():
    """A real HTTP server on 127.0.0.1 verifying X-Tracker-Signature with SECRET."""
    with Receiver() as server:
        yield server


@pytest.fixture
def fast(app):
    """A short request deadline and no backoff wait, for tests that retry at once."""
    saved = {k: app.config.get(k) for k in ("WEBHOOK_TIMEOUT", "WEBHOOK_BACKOFF_BASE")}
    app.config.update(WEBHOOK_TIMEOUT=1.5, WEBHOOK_BACKOFF_BASE=1.0)
    yield app
    app.config.update(saved)


def make_endpoint(url: str, events=None, secret: str = SECRET, **kwargs):
    """An endpoint registered through the service, as an admin would."""
    from tracker.webhooks.models import EVENT_TYPES

    return services.create_endpoint({"url": url, "events": list(events or EVENT_TYPES),
                                     "secret": secret, "description": "test", **kwargs})
