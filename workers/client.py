"""The thin enqueue client the API and the front ends use: tasks are sent by name, with an expiry.
Given the session of the transaction that wrote their data, tasks go through the outbox and are sent
only once that transaction has committed (see workers.outbox)."""

from __future__ import annotations

import uuid
from typing import Any

from sqlalchemy.orm import Session

from app.core.errors import Unavailable
from app.core.redis import get_redis
from app.core.settings import get_settings
from app.domains.jobs import service as jobs
from workers import names, outbox
from workers.celery_app import producer_app

outbox.install()


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


def _enqueue(session: Session | None, task: str, *, queue: str, key: str, **kwargs: Any) -> None:
    if session is None:
        send(task, queue=queue, **kwargs)
    else:
        jobs.add_to_outbox(
            session,
            task_name=task,
            queue=queue,
            kwargs=kwargs,
            expires_s=get_settings().limits.answer_task_expires_s,
            key=key,
        )


def enqueue_answer(*, message_id: uuid.UUID, session: Session | None = None) -> None:
    """Queue the answering of a recorded message. With `session`, it is sent once that session's
    transaction commits (never for a rolled-back message); without, at once, raising Unavailable when
    the broker cannot take it."""
    _enqueue(
        session,
        names.TASK_ANSWER,
        queue=names.QUEUE_ANSWERS,
        key=f"answer:{message_id}",
        message_id=str(message_id),
    )


def enqueue_delivery(*, channel: str, message_id: uuid.UUID, session: Session | None = None) -> bool:
    """Queue the reply of an answered message through its front end; False when the channel has none
    (CLI and API callers fetch answers themselves). With `session`, sent after it commits, once per
    message however often the answer task runs."""
    task = names.DELIVERY_TASKS.get(channel)
    if task is None:
        return False
    _enqueue(
        session, task, queue=names.QUEUE_DELIVERIES, key=f"deliver:{message_id}", message_id=str(message_id)
    )
    return True


def ping_workers(timeout_s: float = 1.0) -> int:
    """How many workers answered a ping within the timeout."""
    replies = producer_app().control.ping(timeout=timeout_s, limit=1)
    return len(replies or [])


def queue_depth(queue: str = names.QUEUE_ANSWERS) -> int:
    """Tasks waiting in a queue (not those a worker has taken)."""
    return int(get_redis().llen(queue))


def is_busy() -> bool:
    """Whether answers are backed up past the configured depth, so a new question will take a while.
    An unreachable broker counts as not busy: the question is kept and sent when it is back."""
    try:
        return queue_depth(names.QUEUE_ANSWERS) >= get_settings().queue.busy_depth
    except Exception:  # a broker outage is reported by readiness, not here
        return False


def enqueue_slack_files(
    *,
    team_id: str,
    user_id: str,
    channel_id: str,
    files: list[dict[str, Any]],
    grid: dict[str, Any] | None = None,
) -> None:
    """Queue the ingestion of files someone shared with the Slack bot in a direct message (the team,
    and on Enterprise Grid `grid`'s enterprise_id and org_install, say whose bot token downloads them)."""
    send(
        names.TASK_SLACK_INGEST_FILES,
        queue=names.QUEUE_INGEST,
        team_id=team_id,
        user_id=user_id,
        channel_id=channel_id,
        files=files,
        grid=grid or {},
    )
