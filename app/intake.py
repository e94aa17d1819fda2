"""Intake for the operator front ends (CLI and HTTP API): record a question and queue it in one
transaction (the task is sent once the question is committed)."""

from __future__ import annotations

import uuid

from app.core.db import session_scope
from app.domains.conversations import service as conversations
from app.domains.principals import service as principals
from workers import client


def submit_question(*, question: str, user: str, groups: list[str] | None, channel: str) -> uuid.UUID:
    """The message id of the recorded, queued question. The question, its audit event and its task (in
    the outbox) commit together; if the broker cannot take the task now, the outbox relay sends it."""
    with session_scope() as session:
        asker = principals.ensure_local(session, handle=user, groups=groups)
        receipt = conversations.record_inbound(session, channel=channel, principal_id=asker.id, text=question)
        client.enqueue_answer(message_id=receipt.message_id, session=session)
    return receipt.message_id
