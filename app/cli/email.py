"""`plinth smtp`, `plinth smtp-sink` and `plinth email …`: the SMTP listener, the local mail sink of
the embedded default, and the review of inbound mail (quarantine release and discard)."""

from __future__ import annotations

import json
import signal
import threading
import uuid
from collections.abc import Callable

import typer
from sqlalchemy.orm import Session

from app.core.db import session_scope
from app.core.settings import get_settings
from app.domains.inbox import service as inbox
from app.domains.principals import service as principals

cli = typer.Typer(help="Inbound mail: list, inspect, release or discard.", no_args_is_help=True)


def _serve_until_stopped(start: Callable[[], object], stop: Callable[[], object], what: str) -> None:
    stopped = threading.Event()
    for sig in (signal.SIGINT, signal.SIGTERM):
        signal.signal(sig, lambda *_: stopped.set())
    start()
    typer.echo(what)
    stopped.wait()
    stop()


def register(root: typer.Typer) -> None:
    @root.command()
    def smtp(port: int = typer.Option(None, help="Port (default PLINTH_EMAIL_LISTEN_PORT, 2525).")) -> None:
        """Run the SMTP listener (behind the company MTA in production)."""
        from app.core.logging import configure_logging
        from integrations.email.listener import Listener

        configure_logging()
        settings = get_settings()
        settings.require_database_url()
        listener = Listener(settings.email, port=port)
        tls = "STARTTLS offered" if settings.email.tls_cert_file else "no TLS certificate configured"
        _serve_until_stopped(
            listener.start, listener.stop, f"SMTP listener on {listener.hostname}:{listener.port} ({tls})"
        )

    @root.command("smtp-sink")
    def smtp_sink(
        port: int = typer.Option(None, help="Port (default PLINTH_EMAIL_RELAY_PORT, 2526)."),
    ) -> None:
        """Run the local mail sink: every message sent to it is kept in a Maildir."""
        from integrations.email import sink

        settings = get_settings()
        server = sink.controller(settings, port=port)
        _serve_until_stopped(
            server.start,
            server.stop,
            f"mail sink on 127.0.0.1:{server.port}, Maildir {sink.sink_dir(settings)}",
        )


@cli.command("list")
def list_(
    status: str = typer.Option("all", help="received, processed, quarantined, refused, discarded or all."),
    limit: int = typer.Option(50),
) -> None:
    """Inbound mail, newest first."""
    with session_scope() as session:
        for m in inbox.list_mail(session, status=None if status == "all" else status, limit=limit):
            typer.echo(
                f"{m.id}  {m.received_at:%Y-%m-%d %H:%M:%S}  {m.status:<11}  {m.reason or '':<24}  "
                f"{(m.sender or m.envelope_from or '-')[:40]:<40}  {(m.subject or '')[:50]!r}"
            )


@cli.command("show")
def show(inbound_id: uuid.UUID) -> None:
    """One message: envelope, outcome, reason and the facts recorded about it (JSON)."""
    with session_scope() as session:
        m = inbox.get(session, inbound_id=inbound_id)
        typer.echo(
            json.dumps(
                {
                    "id": str(m.id),
                    "received_at": m.received_at.isoformat(),
                    "status": m.status,
                    "kind": m.kind,
                    "reason": m.reason,
                    "detail": m.detail,
                    "envelope_from": m.envelope_from,
                    "envelope_to": m.envelope_to,
                    "sender": m.sender,
                    "subject": m.subject,
                    "message_id": m.message_id,
                    "sha256": m.blob_key,
                    "size": m.size,
                    "receipt": m.receipt_status,
                    "facts": m.facts,
                },
                indent=2,
                ensure_ascii=False,
            )
        )


def _by(session: Session, as_user: str | None) -> uuid.UUID | None:
    return principals.ensure_local(session, handle=as_user).id if as_user else None


@cli.command("release")
def release(
    inbound_id: uuid.UUID, as_user: str = typer.Option(None, "--as", help="Act as this admin.")
) -> None:
    """Let a quarantined message through: it is processed again without the sender checks."""
    from integrations.email.listener import enqueue_processing

    with session_scope() as session:
        inbox.release(session, inbound_id=inbound_id, by=_by(session, as_user))
    enqueue_processing(inbound_id)
    typer.echo(f"inbound mail {inbound_id} released and queued")


@cli.command("discard")
def discard(
    inbound_id: uuid.UUID, as_user: str = typer.Option(None, "--as", help="Act as this admin.")
) -> None:
    """Drop a quarantined message for good (its raw bytes stay stored)."""
    with session_scope() as session:
        inbox.discard(session, inbound_id=inbound_id, by=_by(session, as_user))
    typer.echo(f"inbound mail {inbound_id} discarded")
