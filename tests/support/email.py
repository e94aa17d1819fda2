"""Email test support: free ports, CRLF line ends (as an MTA sends them), smtplib sending, waiting
for inbound mail to be dealt with, and reading the local sink."""

from __future__ import annotations

import email
import io
import re
import smtplib
import socket
import time
import uuid
import zipfile
from collections.abc import Callable
from email import policy
from email.message import EmailMessage
from pathlib import Path
from typing import TypeVar

from sqlalchemy import select

from app.core.db import session_scope
from app.domains.inbox.models import InboundMail
from integrations.email import sink

T = TypeVar("T")


def free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return int(probe.getsockname()[1])


def crlf(raw: bytes) -> bytes:
    return re.sub(rb"\r\n|\r|\n", b"\r\n", raw)


def send(port: int, raw: bytes, *, sender: str = "alice@example.com", to: str = "ask@plinth.local") -> str:
    """Send raw bytes; returns the listener's final reply text (the stored message's id in it)."""
    with smtplib.SMTP("127.0.0.1", port, timeout=60) as smtp:
        smtp.ehlo("client.test")
        code, _ = smtp.mail(sender)
        assert code == 250
        code, reply = smtp.rcpt(to)
        assert code == 250, reply
        code, reply = smtp.data(crlf(raw))
        if code != 250:
            raise smtplib.SMTPDataError(code, reply)
        return reply.decode()


def inbound_id(reply: str) -> uuid.UUID:
    found = re.search(r"queued as ([0-9a-f-]{36})", reply)
    assert found, reply
    return uuid.UUID(found.group(1))


def wait_until(check: Callable[[], T | None], *, timeout: float = 120, what: str = "condition") -> T:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        value = check()
        if value:
            return value
        time.sleep(0.2)
    raise AssertionError(f"timed out waiting for {what}")


def settled(mail_id: uuid.UUID, *, timeout: float = 120) -> InboundMail:
    def check() -> InboundMail | None:
        with session_scope() as session:
            mail = session.get(InboundMail, mail_id)
            return mail if mail is not None and mail.status != "received" else None

    return wait_until(check, timeout=timeout, what=f"inbound mail {mail_id}")


def all_settled(ids: list[uuid.UUID], *, timeout: float) -> list[InboundMail]:
    def check() -> list[InboundMail] | None:
        with session_scope() as session:
            rows = session.scalars(select(InboundMail).where(InboundMail.id.in_(ids))).all()
            return list(rows) if len(rows) == len(ids) and all(r.status != "received" for r in rows) else None

    return wait_until(check, timeout=timeout, what=f"{len(ids)} inbound messages")


def sink_mail(root: Path) -> list[EmailMessage]:
    return [email.message_from_bytes(raw, policy=policy.default) for raw in sink.messages(root)]  # type: ignore[misc]


def message(
    *,
    sender: str = "alice@example.com",
    to: str = "ask@plinth.local",
    subject: str,
    body: str,
    **headers: str,
) -> EmailMessage:
    mail = EmailMessage()
    mail["From"] = sender
    mail["To"] = to
    mail["Subject"] = subject
    mail["Message-ID"] = f"<{uuid.uuid4()}@example.com>"
    for name, value in headers.items():
        mail[name.replace("_", "-")] = value
    mail.set_content(body)
    return mail


def zip_bytes(members: dict[str, bytes]) -> bytes:
    buffer = io.BytesIO()
    with zipfile.ZipFile(buffer, "w", compression=zipfile.ZIP_DEFLATED) as archive:
        for name, data in members.items():
            archive.writestr(name, data)
    return buffer.getvalue()
