"""Email transport: SMTP from SMTP_URL (timeouts set), or the mail folder when none is set."""

from __future__ import annotations

import contextlib
import email.policy
import os
import smtplib
import socket
import ssl
import tempfile
import threading
from dataclasses import dataclass
from email.headerregistry import HeaderRegistry, UnstructuredHeader
from email.message import EmailMessage
from email.utils import format_datetime
from pathlib import Path
from urllib.parse import parse_qs, unquote, urlsplit

from flask import current_app

from tracker.clock import now_utc


class TransientMailError(Exception):
    """Try again later: connection trouble, timeouts, 4xx replies."""


class PermanentMailError(Exception):
    """Never retry: the server refused the message or the address for good (5xx)."""


class _UrlListHeader(UnstructuredHeader):
    """`<URL>` headers (RFC 2369) must stay literal: the default policy turns a long URL into
    an RFC 2047 encoded word, which mail clients do not decode back into a link. Folded
    before the value instead (a URL has no whitespace to fold at)."""

    def fold(self, *, policy) -> str:  # noqa: D102
        return f"{self.name}:{policy.linesep} {self}{policy.linesep}"


MAIL_POLICY = email.policy.default.clone(header_factory=HeaderRegistry())
MAIL_POLICY.header_factory.map_to_type("list-unsubscribe", _UrlListHeader)


@dataclass(frozen=True)
class SmtpSettings:
    host: str
    port: int
    ssl: bool
    starttls: bool
    username: str | None
    password: str | None


def parse_smtp_url(url: str) -> SmtpSettings:
    """smtp://user:pass@host:port, smtps://host (implicit TLS), ?starttls=1."""
    parts = urlsplit(url)
    if parts.scheme not in {"smtp", "smtps"}:
        raise ValueError(f"SMTP_URL must start with smtp:// or smtps://, not {parts.scheme!r}")
    query = parse_qs(parts.query)
    use_ssl = parts.scheme == "smtps"
    starttls = query.get("starttls", ["0"])[0].lower() in {"1", "true", "yes", "on"}
    return SmtpSettings(
        host=parts.hostname or "localhost",
        port=parts.port or (465 if use_ssl else 587 if starttls else 25),
        ssl=use_ssl, starttls=starttls,
        username=unquote(parts.username) if parts.username else None,
        password=unquote(parts.password) if parts.password else None,
    )


def build_message(*, to: str, subject: str, text: str, html: str, message_id: str,
                  unsubscribe_url: str | None = None) -> EmailMessage:
    """A multipart/alternative message (text first, HTML second), UTF-8 throughout."""
    msg = EmailMessage(policy=MAIL_POLICY)
    msg["From"] = current_app.config["MAIL_FROM"]
    msg["To"] = to
    msg["Subject"] = subject
    msg["Message-ID"] = message_id
    msg["Date"] = format_datetime(now_utc())
    msg["Auto-Submitted"] = "auto-generated"
    if unsubscribe_url:
        msg["List-Unsubscribe"] = f"<{unsubscribe_url}>"
        # RFC 8058: mail clients may unsubscribe with one POST, no page to visit
        msg["List-Unsubscribe-Post"] = "List-Unsubscribe=One-Click"
    msg.set_content(text)
    msg.add_alternative(html, subtype="html")
    return msg


def transport_name() -> str:
    return "smtp" if current_app.config.get("SMTP_URL") else "folder"


def deliver(msg: EmailMessage) -> None:
    """Hand one message over; raises TransientMailError or PermanentMailError.

    REMINDER_SMTP_TIMEOUT bounds the whole conversation, not each socket read: a relay that
    answers every few seconds must not keep a claim alive past its lease (then a second worker
    would send it again). At the deadline a timer shuts the socket and the attempt is transient.
    """
    url = current_app.config.get("SMTP_URL")
    if not url:
        _write_to_folder(msg)
        return
    settings = parse_smtp_url(url)
    timeout = float(current_app.config.get("REMINDER_SMTP_TIMEOUT", 20))
    cut = threading.Event()
    timer: threading.Timer | None = None
    try:
        if settings.ssl:
            server: smtplib.SMTP = smtplib.SMTP_SSL(
                settings.host, settings.port, timeout=timeout,
                context=ssl.create_default_context())
        else:
            server = smtplib.SMTP(settings.host, settings.port, timeout=timeout)
        timer = threading.Timer(timeout, _cut_conversation, (server, cut))
        timer.daemon = True
        timer.start()
        with server:
            if settings.starttls:
                server.starttls(context=ssl.create_default_context())
            if settings.username:
                server.login(settings.username, settings.password or "")
            server.send_message(msg)
    except smtplib.SMTPRecipientsRefused as exc:
        codes = [code for code, _ in exc.recipients.values()]
        reason = "; ".join(f"{addr}: {code} {text!r}" for addr, (code, text)
                           in exc.recipients.items())
        if codes and all(code >= 500 for code in codes):
            raise PermanentMailError(reason) from exc
        raise TransientMailError(reason) from exc
    except smtplib.SMTPResponseException as exc:
        reason = f"{exc.smtp_code} {exc.smtp_error!r}"
        if exc.smtp_code >= 500 and not cut.is_set():
            raise PermanentMailError(reason) from exc
        raise TransientMailError(reason) from exc
    except (TimeoutError, smtplib.SMTPException, OSError) as exc:
        if cut.is_set():
            raise TransientMailError(
                f"SMTP conversation exceeded its {timeout:g} s deadline") from exc
        raise TransientMailError(f"{type(exc).__name__}: {exc}") from exc
    finally:
        if timer is not None:
            timer.cancel()


def _cut_conversation(server: smtplib.SMTP, cut: threading.Event) -> None:
    """Deadline reached: shutting the socket down wakes the blocked read with an error."""
    cut.set()
    sock = server.sock
    if sock is not None:
        with contextlib.suppress(OSError):
            sock.shutdown(socket.SHUT_RDWR)


def _write_to_folder(msg: EmailMessage) -> None:
    """One .eml per handing-over, named after the Message-ID; a resend adds a numbered copy
    beside the earlier one (as a relay would deliver both), never overwrites it."""
    folder = Path(current_app.config["MAIL_DIR"])
    folder.mkdir(parents=True, exist_ok=True)
    name = "".join(ch if ch.isalnum() or ch in "-." else "_"
                   for ch in str(msg["Message-ID"]).strip("<>"))
    fd, tmp = tempfile.mkstemp(dir=folder, suffix=".tmp")
    try:
        with os.fdopen(fd, "wb") as handle:
            handle.write(msg.as_bytes())
        for copy in range(1, 10000):
            target = folder / (f"{name}.eml" if copy == 1 else f"{name}.{copy}.eml")
            try:
                os.link(tmp, target)  # atomic and refuses to replace an existing copy
                break
            except FileExistsError:
                continue
        Path(tmp).unlink()
    except OSError as exc:
        Path(tmp).unlink(missing_ok=True)
        raise TransientMailError(f"mail folder: {exc}") from exc
