"""The Celery application: Redis broker, late acknowledgement, no result backend (results live in
PostgreSQL). `celery -A workers.celery_app` and `plinth worker` both use it."""

from __future__ import annotations

from celery import Celery

from app.core.settings import get_settings, settings_scoped
from workers import names
from workers.beat import beat_schedule

TASK_MODULES = [
    "workers.signals",
    "workers.tasks.answer",
    "workers.tasks.maintenance",
    "workers.tasks.audit",
    "workers.tasks.jobs",
    "workers.tasks.email",
    "workers.tasks.slack",
]


def create_celery(broker_url: str | None) -> Celery:
    celery = Celery("plinth", include=TASK_MODULES)
    queue = get_settings().queue
    celery.conf.update(
        broker_url=broker_url,
        broker_connection_retry_on_startup=True,
        # A task is acknowledged only after it finished; if its worker dies it is delivered again.
        task_acks_late=True,
        task_reject_on_worker_lost=True,
        worker_prefetch_multiplier=1,
        # A pool process loads the embedding model before it reports up; the default 4 s kills it first
        # on a busy node, and every replacement after it.
        worker_proc_alive_timeout=120,
        # Longer than the longest task, so Redis does not redeliver work still in progress.
        broker_transport_options={"visibility_timeout": queue.visibility_timeout_s},
        task_soft_time_limit=queue.task_soft_time_limit_s,
        task_time_limit=queue.task_time_limit_s,
        task_default_queue=names.QUEUE_ANSWERS,
        task_routes={
            names.TASK_ANSWER: {"queue": names.QUEUE_ANSWERS},
            names.TASK_SWEEP_UNANSWERED: {"queue": names.QUEUE_MAINTENANCE},
            names.TASK_SWEEP_UNDELIVERED: {"queue": names.QUEUE_MAINTENANCE},
            names.TASK_AUDIT_MAINTENANCE: {"queue": names.QUEUE_MAINTENANCE},
            names.TASK_OUTBOX_RELAY: {"queue": names.QUEUE_MAINTENANCE},
            names.TASK_EMAIL_PROCESS: {"queue": names.QUEUE_INGEST},
            names.TASK_EMAIL_DELIVER: {"queue": names.QUEUE_ANSWERS},
            names.TASK_EMAIL_RECEIPT: {"queue": names.QUEUE_ANSWERS},
            names.TASK_SWEEP_EMAIL: {"queue": names.QUEUE_MAINTENANCE},
            names.TASK_SLACK_DELIVER: {"queue": names.QUEUE_ANSWERS},
            names.TASK_SLACK_INGEST_FILES: {"queue": names.QUEUE_INGEST},
        },
        task_ignore_result=True,
        task_serializer="json",
        accept_content=["json"],
        worker_hijack_root_logger=False,
        worker_send_task_events=False,
        beat_schedule=beat_schedule(),
        timezone="UTC",
    )
    return celery


def _configured_broker() -> str | None:
    redis_url = get_settings().redis_url
    return redis_url.get_secret_value() if redis_url else None


# The worker's application (`celery -A workers.celery_app`); its process has fixed settings.
app = create_celery(_configured_broker())


@settings_scoped
def producer_app() -> Celery:
    """The application used to send tasks, following the current settings."""
    return create_celery(get_settings().require_redis_url())
