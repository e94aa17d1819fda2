"""Requests to hand a question over to a person."""

from __future__ import annotations

import uuid
from collections.abc import Sequence

from sqlalchemy import select
from sqlalchemy.orm import Session

from app.core.db import utcnow
from app.core.errors import Conflict, NotFound
from app.domains.conversations.models import Answer, Escalation, Message
from app.domains.principals import service as principals
from audit import events
from audit import store as audit_store


def request(
    session: Session, *, message_id: uuid.UUID, principal_id: uuid.UUID, channel: str, reason: str | None
) -> Escalation:
    """Open an escalation of a question (and its answer, if any); audited."""
    message = session.get(Message, message_id)
    if message is None:
        raise NotFound(f"no message {message_id}")
    answer_id = session.scalar(select(Answer.id).where(Answer.message_id == message_id))
    escalation = Escalation(
        message_id=message_id,
        answer_id=answer_id,
        requested_by=principal_id,
        channel=channel,
        reason=(reason or "").strip()[:2000] or None,
    )
    session.add(escalation)
    session.flush()
    audit_store.append(
        session,
        event_type=events.ESCALATION_REQUESTED,
        actor=principals.actor(principal_id),
        channel=channel,
        subject=f"escalation:{escalation.id}",
        correlation_id=message.correlation_id,
        payload={"message_id": str(message_id), "reason": escalation.reason},
    )
    return escalation


def mark_posted(session: Session, *, escalation_id: uuid.UUID, external_ref: str) -> None:
    """Where the escalation was posted for people to pick it up (a Slack message, an email)."""
    escalation = session.get(Escalation, escalation_id)
    if escalation is None:
        raise NotFound(f"no escalation {escalation_id}")
    escalation.external_ref = external_ref
    session.flush()


def resolve(session: Session, *, escalation_id: uuid.UUID, by: uuid.UUID | None) -> Escalation:
    escalation = session.get(Escalation, escalation_id)
    if escalation is None:
        raise NotFound(f"no escalation {escalation_id}")
    if escalation.status == "resolved":
        raise Conflict(f"escalation {escalation_id} is already resolved")
    escalation.status, escalation.resolved_at, escalation.resolved_by = "resolved", utcnow(), by
    message = session.get(Message, escalation.message_id)
    audit_store.append(
        session,
        event_type=events.ESCALATION_RESOLVED,
        actor=principals.actor(by),
        channel=escalation.channel,
        subject=f"escalation:{escalation.id}",
        correlation_id=message.correlation_id if message else None,
        payload={},
    )
    session.flush()
    return escalation


def open_escalations(session: Session, *, limit: int = 100) -> Sequence[Escalation]:
    return session.scalars(
        select(Escalation)
        .where(Escalation.status == "open")
        .order_by(Escalation.created_at.desc())
        .limit(limit)
    ).all()
