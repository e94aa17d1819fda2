"""Dead letters and the task outbox. Services flush; the caller's transaction commits."""

from __future__ import annotations

import hashlib
import json
import uuid
from collections.abc import Sequence
from datetime import timedelta
from typing import Any

from sqlalchemy import delete, func, select, update
from sqlalchemy.dialects.postgresql import insert as pg_insert
from sqlalchemy.orm import Session

from app.core.db import utcnow
from app.core.errors import Conflict, NotFound
from app.domains.jobs.models import FailedTask, OutboxEntry
from app.domains.jobs.schemas import FailedTaskOut, PendingSend
from app.domains.principals import service as principals
from audit import events
from audit import store as audit_store

# Outbox ids written in a session, sent by whoever listens for its commit (see workers.outbox).
PENDING_KEY = "plinth.outbox.pending"
MAX_ERROR_CHARS = 4000
MAX_TRACEBACK_CHARS = 20_000


def add_to_outbox(
    session: Session,
    *,
    task_name: str,
    queue: str,
    kwargs: dict[str, Any],
    expires_s: float | None,
    key: str | None = None,
) -> int | None:
    """Write a task to send once this transaction commits; None when `key` was already used."""
    statement = pg_insert(OutboxEntry).values(
        key=key, task_name=task_name, queue=queue, kwargs=kwargs, expires_s=expires_s, created_at=utcnow()
    )
    if key is not None:
        statement = statement.on_conflict_do_nothing(index_elements=["key"])
    entry_id = session.scalar(statement.returning(OutboxEntry.id))
    if entry_id is not None:
        session.info.setdefault(PENDING_KEY, []).append(entry_id)
    return entry_id


def _pending(entry: OutboxEntry) -> PendingSend:
    return PendingSend(
        id=entry.id,
        task_name=entry.task_name,
        queue=entry.queue,
        arguments=entry.kwargs,
        expires_s=entry.expires_s,
    )


def unsent(
    session: Session, *, ids: Sequence[int] | None = None, older_than_s: float = 0, limit: int = 500
) -> list[PendingSend]:
    """Entries no broker has taken yet (locked for this transaction; other relays skip them)."""
    query = select(OutboxEntry).where(OutboxEntry.sent_at.is_(None))
    if ids is not None:
        query = query.where(OutboxEntry.id.in_(ids))
    if older_than_s:
        query = query.where(OutboxEntry.created_at < utcnow() - timedelta(seconds=older_than_s))
    rows = session.scalars(query.order_by(OutboxEntry.id).limit(limit).with_for_update(skip_locked=True))
    return [_pending(row) for row in rows]


def mark_sent(session: Session, *, ids: Sequence[int]) -> None:
    if ids:
        session.execute(
            update(OutboxEntry)
            .where(OutboxEntry.id.in_(ids))
            .values(sent_at=utcnow(), send_attempts=OutboxEntry.send_attempts + 1, last_error=None)
        )


def mark_unsent(session: Session, *, entry_id: int, error: str) -> None:
    session.execute(
        update(OutboxEntry)
        .where(OutboxEntry.id == entry_id)
        .values(send_attempts=OutboxEntry.send_attempts + 1, last_error=error[:MAX_ERROR_CHARS])
    )


def outbox_backlog(session: Session) -> int:
    """How many tasks wait to be handed to the broker."""
    return int(session.scalar(select(func.count()).where(OutboxEntry.sent_at.is_(None))) or 0)


def purge_sent(session: Session, *, older_than_s: float) -> int:
    """Forget entries sent long ago (their idempotency keys then no longer block a new entry)."""
    result = session.execute(
        delete(OutboxEntry).where(OutboxEntry.sent_at < utcnow() - timedelta(seconds=older_than_s))
    )
    return int(result.rowcount or 0)  # type: ignore[attr-defined]


def fingerprint(task_name: str, kwargs: dict[str, Any]) -> str:
    canonical = json.dumps([task_name, kwargs], sort_keys=True, separators=(",", ":"), default=str)
    return hashlib.sha256(canonical.encode()).hexdigest()


def record_failure(
    session: Session,
    *,
    task_name: str,
    queue: str,
    kwargs: dict[str, Any],
    task_id: str | None,
    error: str,
    traceback: str | None,
    attempts: int,
    transient: bool,
) -> FailedTaskOut:
    """Keep a task that failed for good (audited). The same task and arguments failing again updates
    its row: attempts add up, the first failure is kept, the status goes back to failed."""
    now = utcnow()
    values = {
        "error": error[:MAX_ERROR_CHARS],
        "traceback": traceback[-MAX_TRACEBACK_CHARS:] if traceback else None,
        "transient": transient,
        "last_task_id": task_id,
        "last_failed_at": now,
        "status": "failed",
    }
    statement = pg_insert(FailedTask).values(
        id=uuid.uuid4(),
        fingerprint=fingerprint(task_name, kwargs),
        task_name=task_name,
        queue=queue,
        arguments=kwargs,
        attempts=attempts,
        failures=1,
        first_failed_at=now,
        replays=0,
        **values,
    )
    statement = statement.on_conflict_do_update(
        index_elements=["fingerprint"],
        set_={
            **values,
            "attempts": FailedTask.attempts + statement.excluded.attempts,
            "failures": FailedTask.failures + 1,
        },
    )
    failed_id = session.scalar(statement.returning(FailedTask.id))
    row = session.get(FailedTask, failed_id, populate_existing=True)
    assert row is not None
    audit_store.append(
        session,
        event_type=events.JOB_DEAD_LETTERED,
        actor=events.SYSTEM_ACTOR,
        subject=f"job:{row.id}",
        payload={
            "task": task_name,
            "kwargs": kwargs,
            "task_id": task_id,
            "error": values["error"],
            "attempts": attempts,
            "transient": transient,
        },
    )
    session.flush()
    return FailedTaskOut.model_validate(row)


def list_failed(session: Session, *, status: str | None = "failed", limit: int = 100) -> list[FailedTaskOut]:
    query = select(FailedTask).order_by(FailedTask.last_failed_at.desc()).limit(limit)
    if status is not None:
        query = query.where(FailedTask.status == status)
    return [FailedTaskOut.model_validate(row) for row in session.scalars(query)]


def failed_count(session: Session) -> int:
    return int(session.scalar(select(func.count()).where(FailedTask.status == "failed")) or 0)


def _get(session: Session, failed_id: uuid.UUID) -> FailedTask:
    row = session.get(FailedTask, failed_id, with_for_update=True)
    if row is None:
        raise NotFound(f"no failed task {failed_id}")
    return row


def get_failed(session: Session, *, failed_id: uuid.UUID) -> FailedTaskOut:
    return FailedTaskOut.model_validate(_get(session, failed_id))


def replay(
    session: Session, *, failed_id: uuid.UUID, principal_id: uuid.UUID | None, expires_s: float | None
) -> FailedTaskOut:
    """Send a failed task again with its original arguments (through the outbox, audited). If it fails
    again it comes back to the failed list."""
    row = _get(session, failed_id)
    if row.status != "failed":
        raise Conflict(f"failed task {failed_id} was already replayed; its new outcome is pending")
    row.status = "replayed"
    row.replayed_at = utcnow()
    row.replayed_by = principals.actor(principal_id)
    row.replays += 1
    add_to_outbox(
        session, task_name=row.task_name, queue=row.queue, kwargs=row.arguments, expires_s=expires_s
    )
    audit_store.append(
        session,
        event_type=events.JOB_REPLAYED,
        actor=principals.actor(principal_id),
        subject=f"job:{row.id}",
        payload={"task": row.task_name, "kwargs": row.arguments, "replays": row.replays},
    )
    session.flush()
    return FailedTaskOut.model_validate(row)
