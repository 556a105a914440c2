"""One signed POST to one URL: no redirects, a whole-request deadline, a capped response read.

The standard library's http.client, because it never follows a redirect by itself. The name
is resolved and the socket connected within the deadline, and a watchdog timer shuts the socket
down when it passes, so a receiver that answers one byte at a time is cut off at the deadline,
not at `timeout` per byte.
"""

from __future__ import annotations

import contextlib
import hashlib
import hmac
import http.client
import socket
import ssl
import threading
import time
from dataclasses import dataclass
from urllib.parse import urlsplit

USER_AGENT = "InnovationPipelineTracker-Webhooks/1"


class DeliveryError(Exception):
    """No usable answer: connection refused or reset, deadline passed, bad URL."""


@dataclass
class Answer:
    status: int
    body: bytes
    location: str | None


def signature(secret: str, timestamp: str, body: bytes) -> str:
    """hex HMAC-SHA256 of "<timestamp>.<body>" keyed with the endpoint's secret."""
    return hmac.new(secret.encode(), timestamp.encode() + b"." + body,
                    hashlib.sha256).hexdigest()


def signed_headers(secret: str, *, event_type: str, event_id: str, delivery_id: int,
                   timestamp: int, body: bytes) -> dict[str, str]:
    ts = str(timestamp)
    return {
        "Content-Type": "application/json; charset=utf-8",
        "User-Agent": USER_AGENT,
        "X-Tracker-Event": event_type,
        "X-Tracker-Event-Id": event_id,
        "X-Tracker-Delivery": str(delivery_id),
        "X-Tracker-Timestamp": ts,
        "X-Tracker-Signature": "sha256=" + signature(secret, ts, body),
    }


def check_url(url: str) -> str | None:
    """Why this URL cannot be delivered to, or None when it can (http or https, a host)."""
    try:
        parts = urlsplit(url)
        port = parts.port
    except ValueError:
        return "invalid URL"
    if parts.scheme not in ("http", "https"):
        return "only http:// and https:// URLs"
    if not parts.hostname:
        return "no host"
    if port == 0:
        return "invalid port"
    if any(ch.isspace() for ch in url):
        return "whitespace in URL"
    return None


def _resolve(host: str, port: int, timeout: float) -> list[tuple]:
    """getaddrinfo under the deadline: the C resolver cannot be interrupted, so it runs in a
    daemon thread we stop waiting for (its late answer is simply dropped)."""
    found: dict[str, object] = {}

    def work() -> None:
        try:
            found["addresses"] = socket.getaddrinfo(host, port, type=socket.SOCK_STREAM)
        except OSError as exc:
            found["error"] = exc

    resolver = threading.Thread(target=work, daemon=True)
    resolver.start()
    resolver.join(timeout)
    if resolver.is_alive():
        raise DeliveryError(f"timeout: resolving {host} took longer than {timeout:g} s")
    if "error" in found:
        raise DeliveryError(f"cannot resolve {host}: {found['error']}")
    return list(found["addresses"])  # type: ignore[arg-type]


def _connector(addresses: list[tuple], deadline: float):
    """Replaces http.client's create_connection: the resolved addresses, within the deadline."""

    def connect(_address, _timeout=None, _source=None) -> socket.socket:
        error: OSError | None = None
        for family, kind, proto, _name, address in addresses:
            remaining = deadline - time.monotonic()
            if remaining <= 0:
                break
            sock = socket.socket(family, kind, proto)
            sock.settimeout(remaining)
            try:
                sock.connect(address)
                return sock
            except OSError as exc:
                sock.close()
                error = exc
        raise error or TimeoutError("deadline passed while connecting")

    return connect


def post(url: str, body: bytes, headers: dict[str, str], *, timeout: float,
         max_body: int) -> Answer:
    """POST once; the answer whatever its status (a 3xx is returned, never followed)."""
    problem = check_url(url)
    if problem:
        raise DeliveryError(problem)
    parts = urlsplit(url)
    path = parts.path or "/"
    if parts.query:
        path += "?" + parts.query
    if parts.scheme == "https":
        conn: http.client.HTTPConnection = http.client.HTTPSConnection(
            parts.hostname, parts.port, timeout=timeout, context=ssl.create_default_context())
    else:
        conn = http.client.HTTPConnection(parts.hostname, parts.port, timeout=timeout)
    expired = threading.Event()
    #: the connected socket; http.client drops conn.sock once a "Connection: close" answer
    #: starts, while the response still reads from it
    held: list[socket.socket] = []

    def cut_off() -> None:
        expired.set()
        for sock in [*held, conn.sock]:
            if sock is None:
                continue
            with contextlib.suppress(OSError):  # already closed: nothing to cut
                sock.shutdown(socket.SHUT_RDWR)

    started = time.monotonic()
    port = parts.port or (443 if parts.scheme == "https" else 80)
    addresses = _resolve(parts.hostname, port, timeout)
    # TLS still checks the certificate against the host name: only the TCP connect is ours
    conn._create_connection = _connector(addresses, started + timeout)  # type: ignore[attr-defined]
    watchdog = threading.Timer(max(started + timeout - time.monotonic(), 0.01), cut_off)
    watchdog.daemon = True
    watchdog.start()
    try:
        conn.connect()
        held.append(conn.sock)
        if expired.is_set():  # the deadline passed while connecting
            raise TimeoutError("deadline passed while connecting")
        conn.request("POST", path, body=body, headers={**headers, "Connection": "close"})
        response = conn.getresponse()
        data = response.read(max_body)
        status, location = response.status, response.getheader("Location")
    except (OSError, http.client.HTTPException) as exc:
        if expired.is_set() or time.monotonic() - started >= timeout:
            raise DeliveryError(f"timeout: no complete answer within {timeout:g} s") from exc
        raise DeliveryError(f"{exc.__class__.__name__}: {exc}") from exc
    finally:
        watchdog.cancel()
        conn.close()
    if expired.is_set():
        raise DeliveryError(f"timeout: no complete answer within {timeout:g} s")
    return Answer(status, data, location)
