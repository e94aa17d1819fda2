"""The local mail sink of the embedded default (`plinth smtp-sink`): an SMTP server that keeps every
message it is given in a Maildir, so replies can be read (and shown) without a real relay."""

from __future__ import annotations

import mailbox
from pathlib import Path

from aiosmtpd.controller import Controller
from aiosmtpd.smtp import SMTP, Envelope
from aiosmtpd.smtp import Session as SmtpSession

from app.core.settings import Settings


def sink_dir(settings: Settings) -> Path:
    return settings.email.sink_dir or settings.home / "mail" / "sink"


class MaildirHandler:
    def __init__(self, root: Path) -> None:
        root.parent.mkdir(parents=True, exist_ok=True)
        self.maildir = mailbox.Maildir(root, create=True)

    async def handle_DATA(  # noqa: N802 - the hook name aiosmtpd looks for
        self, server: SMTP, session: SmtpSession, envelope: Envelope
    ) -> str:
        raw = envelope.original_content or b""
        header = f"X-Plinth-Sink-Rcpt: {', '.join(envelope.rcpt_tos)}\r\n".encode()
        self.maildir.add(header + raw)
        return "250 2.0.0 OK kept in the sink"


def messages(root: Path) -> list[bytes]:
    """The raw messages in the sink, oldest first."""
    box = mailbox.Maildir(root, create=True)
    keyed = sorted(((key, box.get_file(key)) for key in box.iterkeys()), key=lambda kv: kv[0])
    out = []
    for _, handle in keyed:
        with handle:
            out.append(handle.read())
    return out


def controller(settings: Settings, *, port: int | None = None) -> Controller:
    return Controller(
        MaildirHandler(sink_dir(settings)),
        hostname="127.0.0.1",
        port=settings.email.relay_port if port is None else port,
        server_hostname="sink.local",
        data_size_limit=settings.email.max_message_bytes * 2,
    )
