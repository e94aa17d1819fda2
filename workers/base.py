"""What every Plinth task shares: late acknowledgement, retries with exponential backoff and full jitter
for transient failures only (database or broker unreachable), a failed-task row (dead letter) for
everything else and for transient failures that outlast the retries, and locks for periodic jobs."""

from __future__ import annotations

import contextlib
import logging
from collections.abc import Iterator
from typing import Any

import kombu.exceptions
import psycopg
import redis.exceptions
import sqlalchemy.exc
from celery import Task

from app.core.db import session_scope
from app.core.redis import get_redis
from app.core.settings import get_settings
from app.domains.jobs import service as jobs

logger = logging.getLogger(__name__)

# Errors that say "a dependency is not there right now", not "this task is wrong": worth retrying.
TRANSIENT_ERRORS: tuple[type[BaseException], ...] = (
    sqlalchemy.exc.OperationalError,
    sqlalchemy.exc.InterfaceError,
    sqlalchemy.exc.TimeoutError,
    psycopg.OperationalError,
    redis.exceptions.ConnectionError,
    redis.exceptions.TimeoutError,
    kombu.exceptions.OperationalError,
    ConnectionError,
    TimeoutError,
)


def is_transient(exc: BaseException) -> bool:
    if isinstance(exc, sqlalchemy.exc.DBAPIError) and exc.connection_invalidated:
        return True
    return isinstance(exc, TRANSIENT_ERRORS)


_queue = get_settings().queue


class PlinthTask(Task):
    acks_late = True
    reject_on_worker_lost = True
    autoretry_for = TRANSIENT_ERRORS
    max_retries = _queue.retry_max
    retry_backoff = max(1, round(_queue.retry_backoff_s))
    retry_backoff_max = round(_queue.retry_backoff_max_s)
    retry_jitter = True

    def _routed_queue(self) -> str:
        route = (self.app.conf.task_routes or {}).get(self.name, {})
        return str(route.get("queue") or self.app.conf.task_default_queue)

    def on_failure(self, exc: BaseException, task_id: str, args: Any, kwargs: Any, einfo: Any) -> None:
        """Dead-letter the task: it is acknowledged (so it no longer blocks its queue) and kept for replay."""
        logger.error("task %s[%s] failed for good: %s", self.name, task_id, exc, exc_info=exc)
        delivery = self.request.delivery_info or {}
        try:
            with session_scope() as session:
                jobs.record_failure(
                    session,
                    task_name=self.name,
                    queue=delivery.get("routing_key") or self._routed_queue(),
                    kwargs=dict(kwargs or {}),
                    task_id=task_id,
                    error=f"{type(exc).__name__}: {exc}",
                    traceback=str(einfo) if einfo is not None else None,
                    attempts=(self.request.retries or 0) + 1,
                    transient=is_transient(exc),
                )
        except Exception:  # the database may be what failed; the log line above is then all there is
            logger.exception("could not record the failed task %s[%s]", self.name, task_id)


@contextlib.contextmanager
def beat_lock(name: str) -> Iterator[bool]:
    """Hold a Redis lock (with a TTL, so a dead holder does not block it for ever) for a periodic job;
    yields False when another run holds it, and that run then does nothing."""
    lock = get_redis().lock(f"plinth:beat-lock:{name}", timeout=get_settings().queue.beat_lock_ttl_s)
    acquired = bool(lock.acquire(blocking=False))
    try:
        yield acquired
    finally:
        if acquired:
            with contextlib.suppress(redis.exceptions.LockError):
                lock.release()
