"""Inbound mail: record what arrived (before the SMTP reply), claim it for processing exactly once, and
record the outcome — processed, quarantined for an admin, or refused with a reason. Every change is
audited in the same transaction."""

from __future__ import annotations

import uuid
from collections.abc import Sequence
from datetime import timedelta
from typing import Any

from sqlalchemy import func, select, text
from sqlalchemy.orm import Session

from app.core.blobs import StoredBlob
from app.core.db import utcnow
from app.core.errors import Conflict, NotFound
from app.domains.inbox.models import InboundMail
from app.domains.principals import service as principals
from audit import events
from audit import store as audit_store

CHANNEL = "email"
EMAIL_RECEIVED = "email.received"
EMAIL_PROCESSED = "email.processed"
EMAIL_QUARANTINED = "email.quarantined"
EMAIL_REFUSED = "email.refused"
EMAIL_RELEASED = "email.released"
EMAIL_DISCARDED = "email.discarded"
EMAIL_RECEIPT_SENT = "email.receipt_sent"
OUTCOME_EVENTS = {"processed": EMAIL_PROCESSED, "quarantined": EMAIL_QUARANTINED, "refused": EMAIL_REFUSED}
STATUSES = ("received", "processed", "quarantined", "refused", "discarded")


def _audit(session: Session, mail: InboundMail, event_type: str, actor: str, **payload: Any) -> None:
    audit_store.append(
        session,
        event_type=event_type,
        actor=actor,
        channel=CHANNEL,
        subject=f"inbound_mail:{mail.id}",
        payload=payload,
    )


def record_received(
    session: Session,
    *,
    blob: StoredBlob,
    envelope_from: str,
    envelope_to: Sequence[str],
    peer: str | None,
    refused: tuple[str, str] | None = None,
) -> InboundMail:
    """Record a message whose raw bytes are already in the blob store. `refused` = (reason, detail)
    records a message the listener itself turned away (it is kept, but never processed)."""
    mail = InboundMail(
        id=uuid.uuid4(),
        blob_key=blob.key,
        size=blob.size,
        envelope_from=envelope_from,
        envelope_to=list(envelope_to),
        peer=peer,
        received_at=utcnow(),
        status="received",
        facts={},
    )
    session.add(mail)
    session.flush()
    _audit(
        session,
        mail,
        EMAIL_RECEIVED,
        events.SYSTEM_ACTOR,
        sha256=blob.key,
        size=blob.size,
        envelope_from=envelope_from,
        envelope_to=list(envelope_to),
        peer=peer,
    )
    if refused is not None:
        conclude(session, mail=mail, status="refused", kind=None, reason=refused[0], detail=refused[1])
    return mail


def record_smtp_refusal(
    session: Session, *, reply: str, envelope_from: str | None, envelope_to: Sequence[str], peer: str | None
) -> None:
    """Audit a message the listener refused before any of its data was kept (over the size limit, an
    over-long line, an unknown mailbox, too many recipients): the sending MTA still holds it and tells
    its sender; the refusal says why."""
    audit_store.append(
        session,
        event_type=events.INPUT_REJECTED,
        actor=events.SYSTEM_ACTOR,
        channel=CHANNEL,
        payload={
            "reason": reply,
            "envelope_from": envelope_from,
            "envelope_to": list(envelope_to),
            "peer": peer,
        },
    )


def get(session: Session, *, inbound_id: uuid.UUID) -> InboundMail:
    mail = session.get(InboundMail, inbound_id)
    if mail is None:
        raise NotFound(f"no inbound mail {inbound_id}")
    return mail


def list_mail(session: Session, *, status: str | None = None, limit: int = 50) -> Sequence[InboundMail]:
    query = select(InboundMail).order_by(InboundMail.received_at.desc()).limit(limit)
    if status is not None:
        query = query.where(InboundMail.status == status)
    return session.scalars(query).all()


def claim(session: Session, *, inbound_id: uuid.UUID) -> InboundMail | None:
    """Lock a received message for processing; None when it was already dealt with (a redelivered task)."""
    mail = session.scalar(select(InboundMail).where(InboundMail.id == inbound_id).with_for_update())
    if mail is None:
        raise NotFound(f"no inbound mail {inbound_id}")
    return mail if mail.status == "received" else None


def first_with_message_id(session: Session, *, mail: InboundMail) -> InboundMail | None:
    """An earlier message with the same Message-ID that was already dealt with. The advisory lock makes
    two copies processed at once see each other."""
    if not mail.message_id:
        return None
    session.execute(text("SELECT pg_advisory_xact_lock(hashtextextended(:key, 7))"), {"key": mail.message_id})
    return session.scalar(
        select(InboundMail)
        .where(
            InboundMail.message_id == mail.message_id,
            InboundMail.id != mail.id,
            InboundMail.status.in_(("processed", "quarantined", "discarded")),
        )
        .order_by(InboundMail.received_at)
        .limit(1)
    )


def count_from_sender(session: Session, *, sender: str, within: timedelta) -> int:
    """Messages from this sender that were acted on within the window (the rate limit counts these)."""
    return (
        session.scalar(
            select(func.count())
            .select_from(InboundMail)
            .where(
                InboundMail.sender == sender,
                InboundMail.status == "processed",
                InboundMail.received_at > utcnow() - within,
            )
        )
        or 0
    )


def conclude(
    session: Session,
    *,
    mail: InboundMail,
    status: str,
    kind: str | None,
    reason: str,
    detail: str,
    facts: dict[str, Any] | None = None,
    principal_id: uuid.UUID | None = None,
    conversation_message_id: uuid.UUID | None = None,
) -> None:
    """Record what became of a message (processed, quarantined or refused) and why."""
    mail.status, mail.kind, mail.reason, mail.detail = status, kind, reason, detail
    mail.facts = {**(mail.facts or {}), **(facts or {})}
    mail.principal_id = principal_id or mail.principal_id
    mail.conversation_message_id = conversation_message_id or mail.conversation_message_id
    mail.processed_at = utcnow()
    _audit(
        session,
        mail,
        OUTCOME_EVENTS[status],
        principals.actor(principal_id),
        kind=kind,
        reason=reason,
        detail=detail,
        message_id=mail.message_id,
        sender=mail.sender,
        facts=facts or {},
    )
    session.flush()


def release(session: Session, *, inbound_id: uuid.UUID, by: uuid.UUID | None) -> InboundMail:
    """An admin lets a quarantined message through: it is processed again without the sender checks."""
    mail = get(session, inbound_id=inbound_id)
    if mail.status != "quarantined":
        raise Conflict(f"inbound mail {inbound_id} is {mail.status}, not quarantined")
    mail.status = "received"
    mail.facts = {**(mail.facts or {}), "released": True, "quarantine_reason": mail.reason}
    _audit(session, mail, EMAIL_RELEASED, principals.actor(by), reason=mail.reason)
    session.flush()
    return mail


def discard(session: Session, *, inbound_id: uuid.UUID, by: uuid.UUID | None) -> InboundMail:
    """An admin drops a quarantined message for good (its raw bytes stay in the blob store)."""
    mail = get(session, inbound_id=inbound_id)
    if mail.status != "quarantined":
        raise Conflict(f"inbound mail {inbound_id} is {mail.status}, not quarantined")
    mail.status = "discarded"
    _audit(session, mail, EMAIL_DISCARDED, principals.actor(by), reason=mail.reason)
    session.flush()
    return mail


def stale_received(session: Session, *, older_than_s: float, limit: int) -> Sequence[uuid.UUID]:
    """Messages stored but never processed (their task was lost)."""
    return session.scalars(
        select(InboundMail.id)
        .where(
            InboundMail.status == "received",
            InboundMail.received_at < utcnow() - timedelta(seconds=older_than_s),
        )
        .order_by(InboundMail.received_at)
        .limit(limit)
    ).all()


def start_receipt(session: Session, *, inbound_id: uuid.UUID) -> InboundMail | None:
    """Lock a message whose receipt is still due; None when it was sent already (or none is due)."""
    mail = session.scalar(select(InboundMail).where(InboundMail.id == inbound_id).with_for_update())
    if mail is None:
        raise NotFound(f"no inbound mail {inbound_id}")
    if mail.receipt_status not in ("pending", "failed"):
        return None
    mail.receipt_attempts += 1
    session.flush()
    return mail


def finish_receipt(
    session: Session, *, inbound_id: uuid.UUID, sent_message_id: str | None, error: str | None
) -> None:
    mail = get(session, inbound_id=inbound_id)
    if error is None:
        mail.receipt_status, mail.receipt_message_id = "sent", sent_message_id
        _audit(session, mail, EMAIL_RECEIPT_SENT, events.SYSTEM_ACTOR, message_id=sent_message_id)
    else:
        mail.receipt_status = "failed"
        mail.facts = {**(mail.facts or {}), "receipt_error": error[:2000]}
    session.flush()
