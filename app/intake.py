"""Intake for the operator front ends (CLI and HTTP API): record a question and queue it in one
transaction (the task is sent once the question is committed)."""

from __future__ import annotations

import uuid

from app.core.db import session_scope
from app.core.errors import InvalidInput
from app.domains.conversations import service as conversations
from app.domains.principals import service as principals
from workers import client


def submit_question(*, question: str, user: str, groups: list[str] | None, channel: str) -> uuid.UUID:
    """The message id of the recorded, queued question. The question, its audit event and its task (in
    the outbox) commit together; if the broker cannot take the task now, the outbox relay sends it. A
    refused question (empty, too long) is audited with what was received, then the error is raised."""
    with session_scope() as session:
        asker = principals.ensure_local(session, handle=user, groups=groups)
        asker_id = asker.id
    try:
        with session_scope() as session:
            receipt = conversations.record_inbound(
                session, channel=channel, principal_id=asker_id, text=question
            )
            client.enqueue_answer(message_id=receipt.message_id, session=session)
    except InvalidInput as exc:
        with session_scope() as session:
            conversations.record_rejected(
                session, channel=channel, principal_id=asker_id, text=question, reason=exc.message
            )
        raise
    return receipt.message_id
