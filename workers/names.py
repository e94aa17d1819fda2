"""Queue and task names: the contract between whoever enqueues and the workers."""

from __future__ import annotations

QUEUE_ANSWERS = "answers"  # latency-sensitive
QUEUE_DELIVERIES = "deliveries"  # replies of answered questions: never behind the waiting answers
QUEUE_INGEST = "ingest"  # bulk work
QUEUE_MAINTENANCE = "maintenance"

TASK_ANSWER = "plinth.answer"
TASK_SWEEP_UNANSWERED = "plinth.sweep_unanswered"
TASK_SWEEP_UNDELIVERED = "plinth.sweep_undelivered"
TASK_SLACK_DELIVER = "plinth.slack.deliver"
TASK_EMAIL_DELIVER = "plinth.email.deliver"

# The task that replies through each front end once an answer is stored (CLI and API callers fetch it).
DELIVERY_TASKS = {"slack": TASK_SLACK_DELIVER, "email": TASK_EMAIL_DELIVER}
TASK_AUDIT_MAINTENANCE = "plinth.audit_maintenance"

ALL_QUEUES = (QUEUE_ANSWERS, QUEUE_DELIVERIES, QUEUE_INGEST, QUEUE_MAINTENANCE)
# Work that waits on the network (the model, Slack, the mail relay) runs on a thread-pool worker, so
# many answers can be with the model at once; ingestion needs a core per task and runs on processes.
WAITING_QUEUES = (QUEUE_ANSWERS, QUEUE_DELIVERIES, QUEUE_MAINTENANCE)
CPU_QUEUES = (QUEUE_INGEST,)
TASK_OUTBOX_RELAY = "plinth.outbox_relay"
TASK_EMAIL_PROCESS = "plinth.email.process"
TASK_EMAIL_RECEIPT = "plinth.email.receipt"
TASK_SWEEP_EMAIL = "plinth.email.sweep"
TASK_SLACK_INGEST_FILES = "plinth.slack.ingest_files"
