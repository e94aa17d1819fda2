"""Append events to the audit store, in the caller's transaction.

`append` records the event through `audit.append` (the database stamps the time and computes the
digests) into the intake: no global lock is taken, so concurrent transactions commit in parallel. Once a
transaction that appended commits, its events are sealed into the chain — gapless `seq`, each hash over
the previous one — by `audit.chain_pending`, one sequencer at a time under an advisory lock, in batches:
whichever committer finds no chaining run in progress in its process starts one, and the others wait for
it (so when `commit()` returns, this process's events are in `audit.events`), once the transaction has
returned its connection to the pool. Events left in the intake by a process that died are sealed by the
next run anywhere, or by the periodic maintenance task."""

from __future__ import annotations

import contextlib
import logging
import threading
import time
from typing import Any

import psycopg
from sqlalchemy import event, text
from sqlalchemy.engine import Connection, Engine
from sqlalchemy.exc import DBAPIError
from sqlalchemy.orm import Session, SessionTransaction

from app.core.context import correlation_id as current_correlation_id
from app.core.errors import InvalidInput
from app.core.settings import get_settings
from audit.canonical import canonical_json
from audit.per_engine import PerEngine

logger = logging.getLogger(__name__)

CHAIN_LOCK_KEY = 0x504C494E5448  # "PLINTH": taken by audit.chain_pending
_APPEND_SQL = "SELECT audit.append(%s, %s, %s, %s, %s, %s)"
_CHAIN_SQL = "SELECT audit.chain_pending(%s, %s)"
_CHAIN = text("SELECT audit.chain_pending(:limit, :durable)")
_APPENDED = "plinth.audit.appended"
_SEAL_DUE = "plinth.audit.seal_due"  # committed; sealed once the connection is back in the pool


def _check_text(name: str, value: str | None, *, required: bool = False) -> None:
    if required and not value:
        raise InvalidInput(f"an audit event needs a non-empty {name}")
    if value is not None and "\x00" in value:
        raise InvalidInput(f"the audit event's {name} contains a NUL character")


def event_params(
    *,
    event_type: str,
    actor: str,
    payload: dict[str, Any],
    channel: str | None = None,
    subject: str | None = None,
    correlation_id: str | None = None,
) -> tuple[str | None, ...]:
    """Check an event and return the arguments of `audit.append` for it (the payload canonicalised)."""
    _check_text("event type", event_type, required=True)
    _check_text("actor", actor, required=True)
    for name, value in (("channel", channel), ("subject", subject), ("correlation id", correlation_id)):
        _check_text(name, value)
    if not isinstance(payload, dict):
        raise InvalidInput("an audit payload must be a JSON object")
    try:
        body = canonical_json(payload).decode()
    except ValueError as exc:
        raise InvalidInput(str(exc)) from exc
    return (event_type, actor, channel, subject, correlation_id or current_correlation_id(), body)


def append(
    session: Session,
    *,
    event_type: str,
    actor: str,
    payload: dict[str, Any],
    channel: str | None = None,
    subject: str | None = None,
    correlation_id: str | None = None,
) -> int:
    """Record an event in the session's transaction; returns its intake id (its `seq` is assigned when
    the transaction has committed)."""
    params = event_params(
        event_type=event_type,
        actor=actor,
        payload=payload,
        channel=channel,
        subject=subject,
        correlation_id=correlation_id,
    )
    # Straight to the driver, inside the session's transaction: the statement is fixed, and this is the
    # hottest path of the application (about 5x less CPU than through the ORM session).
    driver = session.connection().connection.driver_connection
    assert driver is not None
    try:
        row = driver.execute(_APPEND_SQL, params).fetchone()
    except psycopg.Error as exc:  # the same errors the session would raise
        raise DBAPIError.instance(_APPEND_SQL, params, exc, psycopg.Error) from exc
    session.info[_APPENDED] = True
    return int(row[0]) if row else 0


def chain_pending(connection: Connection, *, batch: int | None = None, durable: bool = False) -> int:
    """Seal every committed intake event into the chain, in batches of their own transactions.
    Returns how many were sealed. `connection` must not be inside a transaction of its own.

    Sealing need not wait for its WAL flush (see audit.chain_pending); whoever publishes a sequence
    number outside the database (a signed checkpoint, an export) first commits a durable transaction,
    which flushes every sealing before it."""
    limit = batch or get_settings().audit.chain_batch
    total = 0
    while True:
        sealed = int(connection.execute(_CHAIN, {"limit": limit, "durable": durable}).scalar_one())
        connection.commit()
        total += sealed
        if sealed < limit:
            return total


class _Sequencer:
    """Per process and engine: at most one chaining run at a time, on a connection of its own in
    autocommit mode (a run is one statement per batch). A committer needs a run that started after its
    commit, and either starts it or waits for the one that will."""

    def __init__(self, engine: Engine) -> None:
        self._engine = engine
        self._cond = threading.Condition()
        self._running = False
        self._started = 0
        self._finished = 0
        self._connection: Any = None  # psycopg connection, used only by the thread running a batch

    def sync(self, timeout_s: float) -> bool:
        deadline = time.monotonic() + timeout_s
        with self._cond:
            wanted = self._started + 1
            while self._finished < wanted:
                if not self._running:
                    self._running = True
                    self._started += 1
                    run = self._started
                    self._cond.release()
                    try:
                        self._run()
                    finally:
                        self._cond.acquire()
                        self._running = False
                        self._finished = run
                        self._cond.notify_all()
                elif not self._cond.wait(max(0.0, deadline - time.monotonic())):
                    return False
        return True

    def _run(self) -> None:
        limit = get_settings().audit.chain_batch
        try:
            if self._connection is None:
                pooled = self._engine.raw_connection()
                connection = pooled.driver_connection
                pooled.detach()
                assert connection is not None
                connection.autocommit = True
                self._connection = connection
            while True:
                row = self._connection.execute(_CHAIN_SQL, (limit, False)).fetchone()
                if row[0] < limit:
                    return
        except Exception:  # the events are committed; the next run or the maintenance task seals them
            logger.exception("chaining committed audit events failed; they stay queued")
            with contextlib.suppress(Exception):
                self._connection.close()
            self._connection = None


_sequencers: PerEngine[_Sequencer] = PerEngine(_Sequencer)


def sync_engine(engine: Engine) -> bool:
    """Wait until events this process committed through `engine` are in the chain."""
    return _sequencers.get(engine).sync(get_settings().audit.chain_wait_s)


def sync(session: Session) -> bool:
    """Wait until events this process committed through `session`'s engine are in the chain."""
    bind = session.get_bind()
    return sync_engine(bind.engine if isinstance(bind, Connection) else bind)


@event.listens_for(Session, "after_commit")
def _mark_seal_due(session: Session) -> None:
    if session.info.pop(_APPENDED, False):
        session.info[_SEAL_DUE] = True


@event.listens_for(Session, "after_transaction_end")
def _seal_after_release(session: Session, transaction: SessionTransaction) -> None:
    # Wait for the chain only once the transaction has given its connection back: a sequencer run may
    # need one from the same pool, which committers waiting with theirs in hand could otherwise drain.
    if transaction.parent is not None or not session.info.pop(_SEAL_DUE, False):
        return
    if not sync(session):
        logger.warning("audit events committed but not yet chained; the maintenance task will seal them")


@event.listens_for(Session, "after_rollback")
def _forget_after_rollback(session: Session) -> None:
    session.info.pop(_APPENDED, None)
    session.info.pop(_SEAL_DUE, None)
