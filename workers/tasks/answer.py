from __future__ import annotations

import uuid

from app.core import metrics
from app.core.context import bound_correlation_id
from app.core.db import session_scope
from app.domains.assistant import service as assistant
from app.domains.conversations import service as conversations
from workers import client, names
from workers.base import PlinthTask
from workers.celery_app import app


@app.task(name=names.TASK_ANSWER, base=PlinthTask)
def answer(*, message_id: str) -> None:
    message_uuid = uuid.UUID(message_id)
    with session_scope() as session:
        message = conversations.get_message(session, message_id=message_uuid)
        channel = message.channel
        with bound_correlation_id(message.correlation_id):
            answer = assistant.answer_message(session, message_id=message_uuid)
            # In the answer's transaction, keyed by message: sent once it commits, and only once however
            # often this task runs. A lost send is found by the outbox relay (and the sweeper).
            client.enqueue_delivery(channel=channel, message_id=message_uuid, session=session)
    metrics.ANSWERS.labels(answer.mode, str(answer.answered).lower()).inc()
