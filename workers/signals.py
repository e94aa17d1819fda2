"""Worker process lifecycle: fresh database connections after fork, the embedding model loaded before
the first task instead of during it, and task run times measured."""

from __future__ import annotations

import logging
import time
from typing import Any

from celery import Task
from celery.signals import task_postrun, task_prerun, worker_process_init

from app.core import metrics
from app.core.db import dispose_engines
from rag.embeddings import get_embedder

logger = logging.getLogger(__name__)


@worker_process_init.connect
def _on_worker_process_init(**_: Any) -> None:
    dispose_engines()
    get_embedder()
    logger.info("worker process ready: embedding model loaded")


_started: dict[str, float] = {}


@task_prerun.connect
def _on_task_start(task_id: str, **_: Any) -> None:
    _started[task_id] = time.perf_counter()


@task_postrun.connect
def _on_task_end(task_id: str, task: Task, state: str | None = None, **_: Any) -> None:
    started = _started.pop(task_id, None)
    if started is not None:
        metrics.TASK_LATENCY.labels(task.name, (state or "unknown").lower()).observe(
            time.perf_counter() - started
        )
