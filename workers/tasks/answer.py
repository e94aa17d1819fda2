from __future__ import annotations

import logging
import uuid
from collections.abc import Callable

from app.core import metrics
from app.core.context import bound_correlation_id
from app.core.db import session_scope
from app.domains.assistant import service as assistant
from app.domains.conversations import service as conversations
from integrations.slack import replier as slack_replier
from workers import client, names
from workers.base import PlinthTask
from workers.celery_app import app

logger = logging.getLogger(__name__)


def _progress(channel: str, message_id: uuid.UUID) -> Callable[[str], None] | None:
    """Where a streaming answer shows its progress: the Slack placeholder, when there is one. Best
    effort: without it the answer still arrives whole."""
    if channel != "slack":
        return None
    try:
        return slack_replier.progress_updater(message_id)
    except Exception:
        logger.warning("no progress updates for %s", message_id, exc_info=True)
        return None


@app.task(name=names.TASK_ANSWER, base=PlinthTask)
def answer(*, message_id: str) -> None:
    message_uuid = uuid.UUID(message_id)
    with session_scope() as session:
        message = conversations.get_message(session, message_id=message_uuid)
        channel = message.channel
        with bound_correlation_id(message.correlation_id):
            answer = assistant.answer_message(
                session, message_id=message_uuid, on_progress=_progress(channel, message_uuid)
            )
            # In the answer's transaction, keyed by message: sent once it commits, and only once however
            # often this task runs. A lost send is found by the outbox relay (and the sweeper).
            client.enqueue_delivery(channel=channel, message_id=message_uuid, session=session)
    metrics.ANSWERS.labels(answer.mode, str(answer.answered).lower()).inc()
