"""Replies out through the relay, exactly once: answers through the conversation's delivery
bookkeeping, document receipts through the inbox. Our Message-IDs are derived from what they answer,
so a retried send carries the same id (and a reply to it finds the answer again)."""

from __future__ import annotations

import uuid

from app.core.db import session_scope
from app.core.settings import get_settings
from app.domains.conversations import deliveries
from app.domains.conversations import service as conversations
from app.domains.inbox import service as inbox
from integrations.email import outbound
from integrations.email.addresses import Mailboxes
from integrations.email.outbound import SendFailed
from integrations.email.processing import answer_message_id_header, receipt_message_id_header
from integrations.email.rendering import FileOutcome, Thread, answer_reply, receipt_reply


def _console_url() -> str | None:
    settings = get_settings()
    return (settings.console.public_url or f"http://{settings.api.host}:{settings.api.port}").rstrip("/")


def deliver_answer(*, message_id: uuid.UUID, final: bool) -> bool:
    """Send the answer to an emailed question; False when it had been sent already. Raises SendFailed
    (after recording the failed attempt; `final` marks the delivery failed for good)."""
    settings = get_settings().email
    with session_scope() as session:
        attempt = deliveries.start_attempt(session, message_id=message_id)
        if attempt is None:
            return False
        message = conversations.get_message(session, message_id=message_id)
        answer = conversations.answer_view(session, message_id=message_id)
        reply_to = dict(message.reply_to or {})
    assert answer is not None
    our_id = answer_message_id_header(message_id, settings)
    email = answer_reply(
        answer,
        thread=Thread(
            to=str(reply_to.get("to")),
            subject=str(reply_to.get("subject") or "(no subject)"),
            message_id=reply_to.get("message_id"),
            references=list(reply_to.get("references") or []),
        ),
        our_id=our_id,
        from_address=Mailboxes.from_settings(settings).from_address(),
        console_url=_console_url(),
    )
    try:
        outbound.send(email, settings=settings)
    except SendFailed as exc:
        with session_scope() as session:
            deliveries.mark_failed(
                session, delivery_id=attempt.delivery_id, error=exc.message, final=final or not exc.transient
            )
        raise
    with session_scope() as session:
        deliveries.mark_delivered(session, delivery_id=attempt.delivery_id, external_ref=our_id)
    return True


def send_receipt(*, inbound_id: uuid.UUID) -> bool:
    """Send the list of accepted and refused files of a document forward; False when none is due."""
    settings = get_settings().email
    with session_scope() as session:
        mail = inbox.start_receipt(session, inbound_id=inbound_id)
        if mail is None:
            return False
        files = list((mail.facts or {}).get("files") or [])
        sender, subject, message_id = mail.sender, mail.subject, mail.message_id
    our_id = receipt_message_id_header(inbound_id, settings)
    email = receipt_reply(
        [FileOutcome(f["name"], bool(f["accepted"]), f["detail"]) for f in files],
        thread=Thread(
            to=str(sender), subject=subject or "(no subject)", message_id=message_id, references=[]
        ),
        our_id=our_id,
        from_address=Mailboxes.from_settings(settings).from_address(),
    )
    try:
        outbound.send(email, settings=settings)
    except SendFailed as exc:
        with session_scope() as session:
            inbox.finish_receipt(session, inbound_id=inbound_id, sent_message_id=None, error=exc.message)
        raise
    with session_scope() as session:
        inbox.finish_receipt(session, inbound_id=inbound_id, sent_message_id=our_id, error=None)
    return True
