"""Periodic jobs run by Celery beat."""

from __future__ import annotations

from typing import Any

from app.core.settings import get_settings
from workers import names

SWEEP_INTERVAL_S = 60.0


def beat_schedule() -> dict[str, dict[str, Any]]:
    return {
        "sweep-unanswered": {
            "task": names.TASK_SWEEP_UNANSWERED,
            "schedule": SWEEP_INTERVAL_S,
            "options": {"queue": names.QUEUE_MAINTENANCE, "expires": SWEEP_INTERVAL_S},
        },
        "sweep-undelivered": {
            "task": names.TASK_SWEEP_UNDELIVERED,
            "schedule": SWEEP_INTERVAL_S,
            "options": {"queue": names.QUEUE_MAINTENANCE, "expires": SWEEP_INTERVAL_S},
        },
        "audit-maintenance": {
            "task": names.TASK_AUDIT_MAINTENANCE,
            "schedule": get_settings().audit.maintenance_interval_s,
            "options": {
                "queue": names.QUEUE_MAINTENANCE,
                "expires": get_settings().audit.maintenance_interval_s,
            },
        },
        "outbox-relay": {
            "task": names.TASK_OUTBOX_RELAY,
            "schedule": get_settings().queue.outbox_relay_interval_s,
            "options": {
                "queue": names.QUEUE_MAINTENANCE,
                "expires": get_settings().queue.outbox_relay_interval_s,
            },
        },
        "sweep-email": {
            "task": names.TASK_SWEEP_EMAIL,
            "schedule": SWEEP_INTERVAL_S,
            "options": {"queue": names.QUEUE_MAINTENANCE, "expires": SWEEP_INTERVAL_S},
        },
    }
