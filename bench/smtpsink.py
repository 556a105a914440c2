"""A real SMTP server on loopback (aiosmtpd) that records what it accepts and can misbehave.

Misbehaviour the reminder tests need: transient 451s (a share of attempts, or every attempt
until a moment: an outage), permanent 550s for chosen recipients, and slow replies.
"""

from __future__ import annotations

import asyncio
import random
import socket
import threading
import time
import zlib
from collections.abc import Callable
from dataclasses import dataclass, field
from email import message_from_bytes
from email.message import Message
from email.policy import default as default_policy

from aiosmtpd.controller import Controller


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


def refused_share(share: float) -> Callable[[str], bool]:
    """A stable choice of about `share` of all addresses, so every retry is refused too."""
    return lambda address: (zlib.crc32(address.lower().encode()) % 10000) < share * 10000


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
    """451 for `transient` of all attempts (and every attempt before `outage_until`),
    550 at RCPT for the addresses `refuse` picks, each reply after `delay` seconds."""

    transient: float = 0.0
    permanent: float = 0.0
    seed: int = 1
    refuse: Callable[[str], bool] | None = None
    delay: float = 0.0
    outage_until: float = 0.0
    accepted: list[Accepted] = field(default_factory=list)
    #: (Message-ID, time) of every DATA the server received, accepted or not
    data_seen: list[tuple[str, float]] = field(default_factory=list)
    attempts: int = 0
    refused_transient: int = 0
    refused_permanent: int = 0

    def __post_init__(self) -> None:
        self._rng = random.Random(self.seed)
        self._lock = threading.Lock()

    async def _slow(self) -> None:
        if self.delay:
            await asyncio.sleep(self.delay)

    async def handle_MAIL(self, server, session, envelope, address, options):  # noqa: N802
        await self._slow()
        envelope.mail_from = address
        envelope.mail_options.extend(options)
        return "250 OK"

    async def handle_RCPT(self, server, session, envelope, address, options):  # noqa: N802
        await self._slow()
        refuse = self.refuse or (refused_share(self.permanent) if self.permanent else None)
        if refuse and refuse(address):
            with self._lock:
                self.refused_permanent += 1
            return "550 5.1.1 mailbox unavailable"
        envelope.rcpt_tos.append(address)
        return "250 OK"

    async def handle_DATA(self, server, session, envelope):  # noqa: N802 - aiosmtpd's hook name
        raw = envelope.original_content or envelope.content
        mid = str(message_from_bytes(raw).get("Message-ID", "")).strip()
        with self._lock:
            self.attempts += 1
            self.data_seen.append((mid, time.time()))
        await self._slow()
        with self._lock:
            if time.time() < self.outage_until or (
                    self.transient and self._rng.random() < self.transient):
                self.refused_transient += 1
                return "451 4.3.0 try again later"
            self.accepted.append(Accepted(mid, list(envelope.rcpt_tos), time.time(), raw))
        return "250 OK"

    def snapshot(self) -> list[Accepted]:
        with self._lock:
            return list(self.accepted)

    def seen(self) -> list[tuple[str, float]]:
        with self._lock:
            return list(self.data_seen)


class SmtpSink:
    """Start/stop an aiosmtpd server on a free loopback port."""

    def __init__(self, handler: FlakyHandler | None = None) -> None:
        self.handler = handler or FlakyHandler()
        self.port = free_port()
        self.controller = Controller(self.handler, hostname="127.0.0.1", port=self.port,
                                     ready_timeout=10)

    @property
    def url(self) -> str:
        return f"smtp://127.0.0.1:{self.port}"

    def __enter__(self) -> SmtpSink:
        self.controller.start()
        return self

    def __exit__(self, *exc) -> None:
        self.controller.stop()
