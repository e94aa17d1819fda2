from __future__ import annotations

import logging

from app.core.db import session_scope
from app.domains.conversations import deliveries
from app.domains.conversations import service as conversations
from workers import client, names
from workers.base import PlinthTask, beat_lock
from workers.celery_app import app

logger = logging.getLogger(__name__)

# Long enough that a queued task has normally been taken; short enough that a lost one is noticed.
STALE_AFTER_S = 120.0
GIVE_UP_AFTER_S = 24 * 3600.0


@app.task(name=names.TASK_SWEEP_UNANSWERED, base=PlinthTask)
def sweep_unanswered() -> int:
    """Re-queue questions whose answer task was lost (answering is idempotent, so a duplicate is harmless)."""
    with beat_lock("sweep-unanswered") as acquired, session_scope() as session:
        if not acquired:
            return 0
        stale = conversations.unanswered_between(
            session, older_than_s=STALE_AFTER_S, newer_than_s=GIVE_UP_AFTER_S, limit=500
        )
    for message_id in stale:
        client.enqueue_answer(message_id=message_id)
    if stale:
        logger.warning("re-queued %d unanswered questions", len(stale))
    return len(stale)


@app.task(name=names.TASK_SWEEP_UNDELIVERED, base=PlinthTask)
def sweep_undelivered() -> int:
    """Re-queue replies whose delivery task was lost (a delivered reply is never sent twice)."""
    with beat_lock("sweep-undelivered") as acquired, session_scope() as session:
        if not acquired:
            return 0
        stale = deliveries.undelivered(
            session,
            channels=list(names.DELIVERY_TASKS),
            older_than_s=STALE_AFTER_S,
            newer_than_s=GIVE_UP_AFTER_S,
            limit=500,
        )
    for message_id, channel in stale:
        client.enqueue_delivery(channel=channel, message_id=message_id)
    if stale:
        logger.warning("re-queued %d undelivered replies", len(stale))
    return len(stale)
