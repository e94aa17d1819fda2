"""Data and sign-ins for console tests, made through the same domain services the system uses."""

from __future__ import annotations

import uuid
from dataclasses import dataclass

from app.console import sessions
from app.core.db import session_scope
from app.domains.conversations import deliveries, escalations, feedback
from app.domains.conversations import service as conversations
from app.domains.corrections import service as corrections
from app.domains.principals import service as principals
from rag.generation import DraftAnswer


@dataclass(frozen=True)
class Person:
    id: uuid.UUID
    handle: str
    token: str  # a personal API token


def person(handle: str, roles: list[str]) -> Person:
    with session_scope() as session:
        principal = principals.ensure_local(session, handle=handle)
        principal.email = handle if "@" in handle else None
        principals.set_roles(session, principal=principal, roles=roles, by=None)
        _, plain = principals.create_api_token(session, principal=principal, name="t", ttl_days=None, by=None)
        return Person(id=principal.id, handle=handle, token=plain)


def console_session(principal_id: uuid.UUID) -> tuple[str, str]:
    """(cookie value, CSRF token) of a fresh console session."""
    with session_scope() as session:
        row, token = sessions.open_session(
            session,
            principal_id=principal_id,
            auth_method="local",
            client_ip=None,
            user_agent=None,
            replaces=None,
        )
        return token, row.csrf_token


def question(
    asker: uuid.UUID,
    text: str,
    *,
    outcome: str = "answered",
    channel: str = "api",
    answer: str = "An answer [1].",
) -> uuid.UUID:
    """A recorded question, answered with the given outcome (answered, fallback, dont_know) or pending."""
    with session_scope() as session:
        receipt = conversations.record_inbound(session, channel=channel, principal_id=asker, text=text)
        if outcome != "pending":
            draft = DraftAnswer(
                text=answer,
                mode="extractive" if outcome != "answered" else "generated",
                answered=outcome != "dont_know",
                confidence=0.8,
                citations=[],
                fallback_reason="no language model is configured" if outcome == "fallback" else None,
            )
            message = conversations.get_message(session, message_id=receipt.message_id)
            conversations.store_answer(session, message=message, draft=draft, processing_ms=12.0, settings={})
        return receipt.message_id


def rate(message_id: uuid.UUID, by: uuid.UUID, rating: int) -> None:
    with session_scope() as session:
        answer = conversations.find_answer(session, message_id=message_id)
        assert answer is not None
        feedback.record(
            session, answer_id=answer.id, principal_id=by, rating=rating, reason=None, channel="api"
        )


def correction(message_id: uuid.UUID, by: uuid.UUID, text: str = "The right answer.") -> uuid.UUID:
    with session_scope() as session:
        return corrections.suggest(
            session, message_id=message_id, principal_id=by, text=text, channel="api"
        ).id


def escalation(message_id: uuid.UUID, by: uuid.UUID) -> uuid.UUID:
    with session_scope() as session:
        return escalations.request(
            session, message_id=message_id, principal_id=by, channel="api", reason="please check"
        ).id


def failed_delivery(message_id: uuid.UUID) -> uuid.UUID:
    with session_scope() as session:
        attempt = deliveries.start_attempt(session, message_id=message_id)
        assert attempt is not None
        deliveries.mark_failed(
            session, delivery_id=attempt.delivery_id, error="channel_not_found", final=True
        )
        return attempt.delivery_id
