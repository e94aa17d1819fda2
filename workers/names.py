"""Queue and task names: the contract between whoever enqueues and the workers."""

from __future__ import annotations

QUEUE_ANSWERS = "answers"  # latency-sensitive
QUEUE_INGEST = "ingest"  # bulk work
QUEUE_MAINTENANCE = "maintenance"

TASK_ANSWER = "plinth.answer"
TASK_SWEEP_UNANSWERED = "plinth.sweep_unanswered"
TASK_AUDIT_MAINTENANCE = "plinth.audit_maintenance"

ALL_QUEUES = (QUEUE_ANSWERS, QUEUE_INGEST, QUEUE_MAINTENANCE)
