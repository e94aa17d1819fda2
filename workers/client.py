"""The thin enqueue client the API and the front ends use: tasks are sent by name, with an expiry."""

from __future__ import annotations

import uuid
from typing import Any

from app.core.errors import Unavailable
from app.core.settings import get_settings
from workers import names
from workers.celery_app import producer_app


def send(task: str, *, queue: str, expires_s: float | None = None, **kwargs: Any) -> None:
    """Send a task by name. Raises Unavailable when the broker cannot take it."""
    try:
        producer_app().send_task(
            task,
            kwargs=kwargs,
            queue=queue,
            expires=expires_s if expires_s is not None else get_settings().limits.answer_task_expires_s,
            retry=True,
            retry_policy={"max_retries": 3, "interval_start": 0.2, "interval_step": 0.5},
        )
    except Exception as exc:  # kombu raises many transport-specific errors
        raise Unavailable(f"the task queue cannot accept work right now ({exc})") from exc


def enqueue_answer(*, message_id: uuid.UUID) -> None:
    """Queue the answering of a recorded message. Raises Unavailable when the broker cannot take it."""
    send(names.TASK_ANSWER, queue=names.QUEUE_ANSWERS, message_id=str(message_id))


def enqueue_delivery(*, channel: str, message_id: uuid.UUID) -> bool:
    """Queue the reply of an answered message through its front end; False when the channel has none
    (CLI and API callers fetch answers themselves). Raises Unavailable when the broker cannot take it."""
    task = names.DELIVERY_TASKS.get(channel)
    if task is None:
        return False
    send(task, queue=names.QUEUE_ANSWERS, message_id=str(message_id))
    return True


def ping_workers(timeout_s: float = 1.0) -> int:
    """How many workers answered a ping within the timeout."""
    replies = producer_app().control.ping(timeout=timeout_s, limit=1)
    return len(replies or [])


def enqueue_slack_files(*, team_id: str, user_id: str, channel_id: str, files: list[dict[str, Any]]) -> None:
    """Queue the ingestion of files someone shared with the Slack bot in a direct message."""
    send(
        names.TASK_SLACK_INGEST_FILES,
        queue=names.QUEUE_INGEST,
        team_id=team_id,
        user_id=user_id,
        channel_id=channel_id,
        files=files,
    )
