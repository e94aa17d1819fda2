"""Getting answers out through their front end, exactly once.

A delivery row per (answer, purpose) is the idempotency key. A task calls `start_attempt` (which says
whether there is anything left to send and what was already sent), performs the side effect outside any
transaction, then `mark_delivered` or `mark_failed`. Front ends that can update what they posted (a Slack
placeholder message) keep its reference in `external_ref`, so a retried attempt edits instead of posting
twice."""

from __future__ import annotations

import uuid
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import timedelta

from sqlalchemy import select
from sqlalchemy.dialects.postgresql import insert as pg_insert
from sqlalchemy.orm import Session

from app.core import tracing
from app.core.db import utcnow
from app.core.errors import Conflict, NotFound
from app.domains.conversations.models import Answer, Delivery, Message
from audit import events
from audit import store as audit_store


@dataclass(frozen=True)
class Attempt:
    delivery_id: uuid.UUID
    attempt: int
    external_ref: str | None  # what an earlier attempt already posted, if anything


def start_attempt(session: Session, *, message_id: uuid.UUID, purpose: str = "reply") -> Attempt | None:
    """Begin an attempt to deliver the message's answer; None when it was already delivered."""
    answer_id = session.scalar(select(Answer.id).where(Answer.message_id == message_id))
    message = session.get(Message, message_id)
    if answer_id is None or message is None:
        raise NotFound(f"message {message_id} has no answer to deliver")
    session.execute(
        pg_insert(Delivery)
        .values(
            id=uuid.uuid4(),
            answer_id=answer_id,
            message_id=message_id,
            channel=message.channel,
            purpose=purpose,
            status="pending",
            attempts=0,
            created_at=utcnow(),
            updated_at=utcnow(),
        )
        .on_conflict_do_nothing(index_elements=["answer_id", "purpose"])
    )
    delivery = session.scalar(
        select(Delivery).where(Delivery.answer_id == answer_id, Delivery.purpose == purpose).with_for_update()
    )
    assert delivery is not None
    if delivery.status == "delivered":
        return None
    delivery.attempts += 1
    delivery.updated_at = utcnow()
    session.flush()
    return Attempt(delivery_id=delivery.id, attempt=delivery.attempts, external_ref=delivery.external_ref)


def _locked(session: Session, delivery_id: uuid.UUID) -> tuple[Delivery, Message]:
    delivery = session.scalar(select(Delivery).where(Delivery.id == delivery_id).with_for_update())
    if delivery is None:
        raise NotFound(f"no delivery {delivery_id}")
    message = session.get(Message, delivery.message_id)
    assert message is not None
    return delivery, message


def _audit(
    session: Session, delivery: Delivery, message: Message, event_type: str, **details: object
) -> None:
    audit_store.append(
        session,
        event_type=event_type,
        actor=events.SYSTEM_ACTOR,
        channel=delivery.channel,
        subject=f"answer:{delivery.answer_id}",
        correlation_id=message.correlation_id,
        payload={"purpose": delivery.purpose, "attempts": delivery.attempts, **details},
    )


def remember_external_ref(session: Session, *, delivery_id: uuid.UUID, external_ref: str) -> None:
    """Keep what was posted so far (before the final edit), so a retry edits it instead of reposting."""
    delivery, _ = _locked(session, delivery_id)
    delivery.external_ref = external_ref
    session.flush()


def mark_delivered(session: Session, *, delivery_id: uuid.UUID, external_ref: str | None) -> None:
    delivery, message = _locked(session, delivery_id)
    if delivery.status == "delivered":
        return
    delivery.status = "delivered"
    delivery.external_ref = external_ref or delivery.external_ref
    delivery.delivered_at = delivery.updated_at = utcnow()
    delivery.last_error = None
    _audit(session, delivery, message, events.OUTPUT_DELIVERED, external_ref=delivery.external_ref)
    session.flush()
    span = {"channel": delivery.channel, "purpose": delivery.purpose, "attempts": delivery.attempts}
    message_id = message.id
    tracing.after_commit(
        session, lambda: tracing.get_tracer().event_span(message_id=message_id, name="deliver", metadata=span)
    )


def mark_failed(session: Session, *, delivery_id: uuid.UUID, error: str, final: bool) -> None:
    """Record a failed attempt; a final failure is audited and left for admins to see and replay."""
    delivery, message = _locked(session, delivery_id)
    delivery.last_error = error[:2000]
    delivery.updated_at = utcnow()
    if final:
        delivery.status = "failed"
        _audit(session, delivery, message, events.OUTPUT_DELIVERY_FAILED, error=delivery.last_error)
    session.flush()


def undelivered(
    session: Session, *, channels: Sequence[str], older_than_s: float, newer_than_s: float, limit: int
) -> list[tuple[uuid.UUID, str]]:
    """(message id, channel) of answered messages on these channels with no finished reply, whose
    delivery may have been lost."""
    now = utcnow()
    finished = select(Delivery.message_id).where(Delivery.purpose == "reply", Delivery.status != "pending")
    rows = session.execute(
        select(Message.id, Message.channel)
        .join(Answer, Answer.message_id == Message.id)
        .where(
            Message.channel.in_(list(channels)),
            Answer.created_at < now - timedelta(seconds=older_than_s),
            Answer.created_at > now - timedelta(seconds=newer_than_s),
            Message.id.not_in(finished),
        )
        .order_by(Answer.created_at)
        .limit(limit)
    ).all()
    return [(message_id, channel) for message_id, channel in rows]


def failed(session: Session, *, limit: int = 100) -> Sequence[Delivery]:
    """Deliveries that failed for good, newest first (for admins)."""
    return session.scalars(
        select(Delivery).where(Delivery.status == "failed").order_by(Delivery.updated_at.desc()).limit(limit)
    ).all()


def requeue(session: Session, *, delivery_id: uuid.UUID, by: str) -> Delivery:
    """Put a failed delivery back to pending for another attempt (an admin's replay); audited. The caller
    queues the delivery task in the same unit of work and commits only once it is queued."""
    delivery, message = _locked(session, delivery_id)
    if delivery.status != "failed":
        raise Conflict(f"delivery {delivery_id} is {delivery.status}, not failed: nothing to replay")
    delivery.status = "pending"
    delivery.updated_at = utcnow()
    audit_store.append(
        session,
        event_type=events.OUTPUT_DELIVERY_REQUEUED,
        actor=by,
        channel=delivery.channel,
        subject=f"answer:{delivery.answer_id}",
        correlation_id=message.correlation_id,
        payload={
            "purpose": delivery.purpose,
            "attempts": delivery.attempts,
            "last_error": delivery.last_error,
        },
    )
    session.flush()
    return delivery
