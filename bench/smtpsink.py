"""A real SMTP server on loopback (aiosmtpd) that records what it accepts and can misbehave."""

from __future__ import annotations

import random
import socket
import threading
import time
import zlib
from dataclasses import dataclass, field
from email import message_from_bytes
from email.message import Message
from email.policy import default as default_policy

from aiosmtpd.controller import Controller


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


@dataclass
class Accepted:
    message_id: str
    rcpt: list[str]
    at: float
    raw: bytes

    def message(self) -> Message:
        return message_from_bytes(self.raw, policy=default_policy)


@dataclass
class FlakyHandler:
    """Fails `transient` of all attempts with 451 and `permanent` of all messages with 550."""

    transient: float = 0.0
    permanent: float = 0.0
    seed: int = 1
    accepted: list[Accepted] = field(default_factory=list)
    attempts: int = 0
    refused_transient: int = 0
    refused_permanent: int = 0

    def __post_init__(self) -> None:
        self._rng = random.Random(self.seed)
        self._lock = threading.Lock()

    async def handle_DATA(self, server, session, envelope):  # noqa: N802 - aiosmtpd's hook name
        msg = message_from_bytes(envelope.original_content or envelope.content)
        mid = str(msg.get("Message-ID", "")).strip()
        with self._lock:
            self.attempts += 1
            # permanent: decided by the Message-ID, so every retry of that message fails too
            if self.permanent and (zlib.crc32(mid.encode()) % 10000) < self.permanent * 10000:
                self.refused_permanent += 1
                return "550 5.1.1 mailbox unavailable"
            if self.transient and self._rng.random() < self.transient:
                self.refused_transient += 1
                return "451 4.3.0 try again later"
            self.accepted.append(Accepted(mid, list(envelope.rcpt_tos), time.time(),
                                          envelope.original_content or envelope.content))
        return "250 OK"

    def snapshot(self) -> list[Accepted]:
        with self._lock:
            return list(self.accepted)


class SmtpSink:
    """Start/stop an aiosmtpd server on a free loopback port."""

    def __init__(self, handler: FlakyHandler | None = None) -> None:
        self.handler = handler or FlakyHandler()
        self.port = free_port()
        self.controller = Controller(self.handler, hostname="127.0.0.1", port=self.port)

    @property
    def url(self) -> str:
        return f"smtp://127.0.0.1:{self.port}"

    def __enter__(self) -> SmtpSink:
        self.controller.start()
        return self

    def __exit__(self, *exc) -> None:
        self.controller.stop()
