"""`plinth.slack.deliver`: post an answer in Slack, once. Each Web API call already retries 429s
(honouring Retry-After), 5xx and dropped connections; what still fails transiently is retried here with
backoff, and the last failure is recorded for admins (`plinth slack failed`, the console)."""

from __future__ import annotations

import logging
import uuid
from typing import Any

from celery import Task

from app.core.context import bound_correlation_id
from app.core.db import session_scope
from app.domains.conversations import service as conversations
from integrations.slack import files as slack_files
from integrations.slack import replier
from integrations.slack.client import bot_token, web_client
from workers import names
from workers.base import PlinthTask
from workers.celery_app import app

logger = logging.getLogger(__name__)
MAX_ATTEMPTS = 6


@app.task(name=names.TASK_SLACK_DELIVER, base=PlinthTask, bind=True, max_retries=MAX_ATTEMPTS - 1)
def deliver(self: Task, *, message_id: str) -> str | None:
    message_uuid = uuid.UUID(message_id)
    with session_scope() as session:
        correlation_id = conversations.get_message(session, message_id=message_uuid).correlation_id
    with bound_correlation_id(correlation_id):
        final = self.request.retries >= MAX_ATTEMPTS - 1
        try:
            return replier.deliver(message_id=message_uuid, final_attempt=final)
        except replier.DeliveryError as exc:
            if exc.transient and not final:
                raise self.retry(exc=exc, countdown=min(2**self.request.retries, 60)) from exc
            logger.error("Slack reply to %s failed for good: %s", message_id, exc.message)
            return None


@app.task(name=names.TASK_SLACK_INGEST_FILES, base=PlinthTask)
def ingest_files(
    *,
    team_id: str,
    user_id: str,
    channel_id: str,
    files: list[dict[str, Any]],
    grid: dict[str, Any] | None = None,
) -> int:
    grid = grid or {}
    token = bot_token(
        team_id, enterprise_id=grid.get("enterprise_id"), org_install=bool(grid.get("org_install"))
    )
    lines = slack_files.ingest_shared(
        web_client(token), team_id=team_id, user_id=user_id, channel_id=channel_id, files=files
    )
    return len(lines)
