"""Intake for the operator front ends (CLI and HTTP API): record a question, commit, then queue it."""

from __future__ import annotations

import uuid

from app.core.db import session_scope
from app.domains.conversations import service as conversations
from app.domains.principals import service as principals
from workers import client


def submit_question(*, question: str, user: str, groups: list[str] | None, channel: str) -> uuid.UUID:
    """The message id of the recorded, queued question. The question is stored and audited before it is
    queued; if queueing fails the stored question is picked up again by the sweeper."""
    with session_scope() as session:
        asker = principals.ensure_local(session, handle=user, groups=groups)
        receipt = conversations.record_inbound(session, channel=channel, principal_id=asker.id, text=question)
    client.enqueue_answer(message_id=receipt.message_id)
    return receipt.message_id
