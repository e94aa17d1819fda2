"""The SMTP listener (aiosmtpd, with DATA read in blocks: `smtp_data.py`): envelope limits, STARTTLS when
a certificate is configured, refusal of SMTP smuggling, and the raw message stored (content-addressed)
and recorded before `250 OK`; processing is queued after the commit. A message whose queueing failed is
picked up by the sweep."""

from __future__ import annotations

import asyncio
import logging
import ssl
import uuid
from typing import Any

from aiosmtpd.controller import Controller
from aiosmtpd.smtp import SMTP, Envelope
from aiosmtpd.smtp import Session as SmtpSession

from app.core.blobs import default_blob_store
from app.core.db import session_scope
from app.core.errors import Unavailable
from app.core.settings import get_settings
from app.core.settings.front_ends import EmailSettings
from app.domains.inbox import service as inbox
from integrations.email import config
from integrations.email.addresses import Mailboxes
from integrations.email.smtp_data import BlockDataSMTP
from workers import client, names

logger = logging.getLogger(__name__)


def has_bare_line_end(raw: bytes) -> bool:
    """RFC 5321 2.3.8: lines end in CRLF only. A bare LF or CR is how "\\n.\\n"-style end-of-data
    smuggling reaches a downstream server that reads them as line ends. (Counting is linear and runs
    in C; a look-behind regex over 25 MB takes seconds.)"""
    pairs = raw.count(b"\r\n")
    return raw.count(b"\n") != pairs or raw.count(b"\r") != pairs


def enqueue_processing(inbound_id: uuid.UUID) -> None:
    client.send(
        names.TASK_EMAIL_PROCESS,
        queue=names.QUEUE_INGEST,
        expires_s=get_settings().email.process_task_expires_s,
        inbound_id=str(inbound_id),
    )


def store(*, raw: bytes, envelope_from: str, envelope_to: list[str], peer: str | None) -> tuple[str, str]:
    """Store and record one message; returns the SMTP reply. Runs in a worker thread."""
    refused = None
    if has_bare_line_end(raw):
        refused = ("smtp.bare_line_feed", "bare LF or CR in the message (possible SMTP smuggling)")
    blob = default_blob_store().put_bytes(raw)
    with session_scope() as session:
        mail = inbox.record_received(
            session,
            blob=blob,
            envelope_from=envelope_from,
            envelope_to=envelope_to,
            peer=peer,
            refused=refused,
        )
        inbound_id = mail.id
    if refused is not None:
        return str(inbound_id), "550 5.6.0 Message refused: line ends must be CRLF (bare LF or CR found)"
    try:
        enqueue_processing(inbound_id)
    except Unavailable:
        logger.warning("inbound mail %s stored; queueing failed, the sweep will pick it up", inbound_id)
    return str(inbound_id), f"250 2.0.0 OK queued as {inbound_id}"


class Handler:
    def __init__(self, settings: EmailSettings) -> None:
        self.settings = settings

    async def _mailboxes(self) -> Mailboxes:
        """The addresses in force (they change from the console); the environment's if the store is out
        of reach, so a database outage does not bounce mail to the fixed addresses."""
        try:
            return await asyncio.get_running_loop().run_in_executor(None, config.mailboxes, self.settings)
        except Exception:
            logger.warning("cannot read the accepted addresses; using the configured ones", exc_info=True)
            return Mailboxes.from_settings(self.settings)

    async def handle_RCPT(  # noqa: N802 - the hook name aiosmtpd looks for
        self, server: SMTP, session: SmtpSession, envelope: Envelope, address: str, rcpt_options: list[str]
    ) -> str:
        if not (await self._mailboxes()).ours(address):
            return "550 5.1.1 No such mailbox here"
        if len(envelope.rcpt_tos) >= self.settings.max_recipients:
            return "452 4.5.3 Too many recipients"
        envelope.rcpt_tos.append(address)
        envelope.rcpt_options.extend(rcpt_options)
        return "250 2.1.5 OK"

    async def handle_DATA(  # noqa: N802 - the hook name aiosmtpd looks for
        self, server: SMTP, session: SmtpSession, envelope: Envelope
    ) -> str:
        raw = envelope.original_content or b""
        peer = session.peer[0] if isinstance(session.peer, tuple) else session.peer
        try:
            inbound_id, reply = await asyncio.get_running_loop().run_in_executor(
                None,
                lambda: store(
                    raw=raw,
                    envelope_from=envelope.mail_from or "",
                    envelope_to=list(envelope.rcpt_tos),
                    peer=str(peer) if peer else None,
                ),
            )
        except Exception:
            # Nothing was recorded: the sending MTA keeps the message and retries.
            logger.exception("could not store an inbound message")
            return "451 4.3.0 Temporary failure storing the message, try again later"
        logger.info("inbound mail %s from %s: %s", inbound_id, envelope.mail_from, reply)
        return reply


# Refusals aiosmtpd or the envelope hooks answer before any data is stored (the smuggling refusal is
# recorded with its stored message instead): 552 over the size limit (declared in MAIL FROM or found
# after DATA), 500 an over-long line, 550 an unknown mailbox, 452 too many recipients.
AUDITED_REFUSALS = ("552", "500 Line too long", "550 5.1.1", "452 4.5.3")


def record_refusal(
    *, reply: str, envelope_from: str | None, envelope_to: list[str], peer: str | None
) -> None:
    with session_scope() as session:
        inbox.record_smtp_refusal(
            session, reply=reply, envelope_from=envelope_from, envelope_to=envelope_to, peer=peer
        )


class AuditedRefusalsSMTP(BlockDataSMTP):
    """aiosmtpd's server (DATA read in blocks), auditing each refusal for a message it never handed over
    before sending it."""

    async def push(self, status: Any) -> None:
        reply = status.decode() if isinstance(status, bytes) else str(status)
        if reply.startswith(AUDITED_REFUSALS):
            await self._record(reply)
        await super().push(status)

    async def _record(self, reply: str) -> None:
        envelope, session = self.envelope, self.session
        peer = session.peer[0] if session is not None and isinstance(session.peer, tuple) else None
        try:
            await asyncio.get_running_loop().run_in_executor(
                None,
                lambda: record_refusal(
                    reply=reply,
                    envelope_from=envelope.mail_from if envelope is not None else None,
                    envelope_to=list(envelope.rcpt_tos) if envelope is not None else [],
                    peer=str(peer) if peer else None,
                ),
            )
        except Exception:  # the refusal stands; only its record failed
            logger.exception("could not audit an SMTP refusal (%s)", reply)


def tls_context(settings: EmailSettings) -> ssl.SSLContext | None:
    if settings.tls_cert_file is None or settings.tls_key_file is None:
        return None
    context = ssl.create_default_context(ssl.Purpose.CLIENT_AUTH)
    context.load_cert_chain(settings.tls_cert_file, settings.tls_key_file)
    return context


class Listener(Controller):
    """A threaded aiosmtpd server with our line-length limit."""

    def __init__(
        self, settings: EmailSettings, *, handler: Any | None = None, port: int | None = None
    ) -> None:
        self.line_length_limit = settings.max_line_bytes
        super().__init__(
            handler or Handler(settings),
            hostname=settings.listen_host,
            port=settings.listen_port if port is None else port,
            server_hostname=settings.hostname,
            data_size_limit=settings.max_message_bytes,
            tls_context=tls_context(settings),
            decode_data=False,
            enable_SMTPUTF8=True,
        )

    def factory(self) -> SMTP:
        limit = self.line_length_limit
        server_class = type("LimitedSMTP", (AuditedRefusalsSMTP,), {"line_length_limit": limit})
        return server_class(self.handler, **self.SMTP_kwargs)
