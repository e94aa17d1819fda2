"""Enqueue after commit. A task meant to run on data written in a transaction is written to the outbox
in that same transaction (`app.domains.jobs`); once it commits, the entries are handed to the broker and
marked sent. A rolled-back transaction leaves no entry, so no task runs for data that never existed; a
send that fails (broker down, process killed) leaves the entry unsent and the relay sends it later."""

from __future__ import annotations

import logging
from collections.abc import Sequence

from sqlalchemy import event
from sqlalchemy.orm import Session

from app.core.db import session_scope
from app.core.errors import AppError
from app.domains.jobs import service as jobs

logger = logging.getLogger(__name__)


def send_entries(ids: Sequence[int] | None = None, *, older_than_s: float = 0, limit: int = 500) -> int:
    """Hand unsent outbox entries to the broker; returns how many it took."""
    from workers import client  # the client installs this module's hook when imported

    with session_scope() as session:
        sent = []
        for entry in jobs.unsent(session, ids=ids, older_than_s=older_than_s, limit=limit):
            try:
                client.send(entry.task_name, queue=entry.queue, expires_s=entry.expires_s, **entry.arguments)
            except AppError as exc:
                jobs.mark_unsent(session, entry_id=entry.id, error=exc.message)
                continue
            sent.append(entry.id)
        jobs.mark_sent(session, ids=sent)
    return len(sent)


def _after_commit(session: Session) -> None:
    ids = session.info.pop(jobs.PENDING_KEY, None)
    if not ids:
        return
    try:
        send_entries(ids)
    except Exception:  # the entries stay unsent; the relay retries them
        logger.warning("outbox: %d task(s) left for the relay", len(ids), exc_info=True)


def _after_rollback(session: Session) -> None:
    session.info.pop(jobs.PENDING_KEY, None)


def install() -> None:
    """Send outbox entries after every commit of every session in this process (idempotent)."""
    if not event.contains(Session, "after_commit", _after_commit):
        event.listen(Session, "after_commit", _after_commit)
        event.listen(Session, "after_rollback", _after_rollback)
