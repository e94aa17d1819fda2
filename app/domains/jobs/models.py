"""Work that must not be lost: the outbox (tasks to send once their transaction has committed) and the
failed-task table (dead letters: tasks that failed for good, kept for inspection and replay)."""

from __future__ import annotations

import uuid
from datetime import datetime
from typing import Any

from sqlalchemy import BigInteger, DateTime, Float, Index, Integer, Text, text
from sqlalchemy.dialects.postgresql import JSONB
from sqlalchemy.orm import Mapped, mapped_column

from app.core.db import Base, utcnow


class OutboxEntry(Base):
    """A task to send, written in the transaction of the data it works on: it exists only if that data
    was committed, and it stays until a broker has taken it. `key` is the idempotency key of the side
    effect (one delivery per answer, ...): a second entry with the same key is not written."""

    __tablename__ = "task_outbox"
    __table_args__ = (Index("ix_task_outbox_unsent", "id", postgresql_where=text("sent_at IS NULL")),)

    id: Mapped[int] = mapped_column(BigInteger, primary_key=True, autoincrement=True)
    key: Mapped[str | None] = mapped_column(Text, unique=True)
    task_name: Mapped[str] = mapped_column(Text)
    queue: Mapped[str] = mapped_column(Text)
    kwargs: Mapped[dict[str, Any]] = mapped_column(JSONB)
    expires_s: Mapped[float | None] = mapped_column(Float)
    created_at: Mapped[datetime] = mapped_column(DateTime(timezone=True), default=utcnow, index=True)
    sent_at: Mapped[datetime | None] = mapped_column(DateTime(timezone=True))
    send_attempts: Mapped[int] = mapped_column(Integer, default=0)
    last_error: Mapped[str | None] = mapped_column(Text)


class FailedTask(Base):
    """A task that exhausted its retries or failed with an error retrying cannot fix. One row per task
    name and arguments: the same task failing again counts another attempt on the same row."""

    __tablename__ = "failed_tasks"

    id: Mapped[uuid.UUID] = mapped_column(primary_key=True, default=uuid.uuid4)
    fingerprint: Mapped[str] = mapped_column(Text, unique=True)  # sha256 of task name and kwargs
    task_name: Mapped[str] = mapped_column(Text, index=True)
    queue: Mapped[str] = mapped_column(Text)
    arguments: Mapped[dict[str, Any]] = mapped_column("kwargs", JSONB)  # the task's keyword arguments
    last_task_id: Mapped[str | None] = mapped_column(Text)
    error: Mapped[str] = mapped_column(Text)
    traceback: Mapped[str | None] = mapped_column(Text)
    transient: Mapped[bool] = mapped_column(default=False)  # failed for good after retrying
    attempts: Mapped[int] = mapped_column(Integer, default=0)
    failures: Mapped[int] = mapped_column(Integer, default=1)
    status: Mapped[str] = mapped_column(Text, default="failed")  # failed | replayed
    first_failed_at: Mapped[datetime] = mapped_column(DateTime(timezone=True), default=utcnow)
    last_failed_at: Mapped[datetime] = mapped_column(DateTime(timezone=True), default=utcnow, index=True)
    replayed_at: Mapped[datetime | None] = mapped_column(DateTime(timezone=True))
    replayed_by: Mapped[str | None] = mapped_column(Text)
    replays: Mapped[int] = mapped_column(Integer, default=0)
