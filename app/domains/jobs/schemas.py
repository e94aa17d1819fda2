from __future__ import annotations

import uuid
from datetime import datetime
from typing import Any

from pydantic import BaseModel, ConfigDict


class FailedTaskOut(BaseModel):
    model_config = ConfigDict(from_attributes=True)

    id: uuid.UUID
    task_name: str
    queue: str
    arguments: dict[str, Any]  # the task's keyword arguments
    error: str
    traceback: str | None
    transient: bool
    attempts: int
    failures: int
    status: str
    first_failed_at: datetime
    last_failed_at: datetime
    replayed_at: datetime | None
    replayed_by: str | None
    replays: int


class PendingSend(BaseModel):
    """An outbox entry on its way to the broker."""

    id: int
    task_name: str
    queue: str
    arguments: dict[str, Any]
    expires_s: float | None
