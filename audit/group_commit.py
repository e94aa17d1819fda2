"""Record audit events that stand alone — no other write to commit with them (refused or failed sign-ins,
rejected audit queries, bad Slack signatures) — durably, one transaction for every writer waiting.

An event that records an action rides that action's transaction (`audit.store.append`). One that records
nothing else would cost a transaction, a WAL flush and a chaining run each; a flood of them (bad Slack
signatures, a script guessing tokens) would cost the database as much as real work. Here the writers of a
process queue their events and one thread per process takes whatever is queued and, in one transaction
(`audit.append_sealed`: straight into the chain, under the chain lock), appends and seals it and commits,
the statement and the commit pipelined in one round trip. Those who arrive meanwhile go in the next
batch. `record` returns once its event is committed (synchronous commit) and has its `seq`."""

from __future__ import annotations

import contextlib
import queue
import threading
from dataclasses import dataclass, field
from typing import Any

import psycopg
from sqlalchemy.engine import Engine

from app.core.errors import Unavailable
from audit import store
from audit.per_engine import PerEngine

IDLE_S = 30.0
_APPEND_SEALED_SQL = (
    "SELECT audit.append_sealed(%s::text[], %s::text[], %s::text[], %s::text[], %s::text[], %s::text[])"
)


@dataclass
class _Pending:
    params: tuple[str | None, ...]
    finished: threading.Event = field(default_factory=threading.Event)
    seq: int = 0
    error: BaseException | None = None


class _Flusher:
    """Per process and engine: the committing thread and the connection only it uses. The thread ends,
    closing its connection, when no event came for IDLE_S, and the next event starts another."""

    def __init__(self, engine: Engine) -> None:
        self.engine = engine
        self._queue: queue.SimpleQueue[_Pending] = queue.SimpleQueue()
        self._lock = threading.Lock()
        self._running = False
        self._connection: Any = None

    def record(self, params: tuple[str | None, ...]) -> int:
        pending = _Pending(params)
        self._queue.put(pending)
        with self._lock:
            if not self._running:
                self._running = True
                threading.Thread(target=self._loop, name="audit-group-commit", daemon=True).start()
        pending.finished.wait()
        if pending.error is not None:
            raise pending.error
        return pending.seq

    def _loop(self) -> None:
        while True:
            try:
                batch = [self._queue.get(timeout=IDLE_S)]
            except queue.Empty:
                with self._lock:
                    if self._queue.empty():  # what is queued from now on starts a new thread
                        self._running = False
                        self._drop()
                        return
                continue
            with contextlib.suppress(queue.Empty):
                while True:
                    batch.append(self._queue.get_nowait())
            self._commit(batch)
            for item in batch:
                item.finished.set()

    def _commit(self, batch: list[_Pending]) -> None:
        columns = [list(column) for column in zip(*(item.params for item in batch), strict=True)]
        for attempt in (1, 2):
            reused = self._connection is not None
            try:
                connection = self._connect()
                with connection.pipeline():
                    appended = connection.execute(_APPEND_SEALED_SQL, columns)
                    connection.commit()
                seqs = [row[0] for row in appended.fetchall()]
                break
            except Exception as exc:  # the thread must live on; every writer of the batch hears of it
                self._drop()
                # A connection the server closed while it sat idle fails before anything is sent.
                if attempt == 1 and reused and isinstance(exc, psycopg.OperationalError):
                    continue
                error = Unavailable(f"the audit store could not record the event: {exc}")
                for item in batch:
                    item.error = error
                return
        for item, seq in zip(batch, seqs, strict=True):
            item.seq = int(seq)

    def _connect(self) -> Any:
        if self._connection is None or self._connection.closed:
            pooled = self.engine.raw_connection()
            self._connection = pooled.driver_connection
            pooled.detach()
        return self._connection

    def _drop(self) -> None:
        if self._connection is not None:
            with contextlib.suppress(psycopg.Error):
                self._connection.close()
        self._connection = None


_flushers: PerEngine[_Flusher] = PerEngine(_Flusher)


def record(
    engine: Engine,
    *,
    event_type: str,
    actor: str,
    payload: dict[str, Any],
    channel: str | None = None,
    subject: str | None = None,
    correlation_id: str | None = None,
) -> int:
    """Durably record one event on its own; returns its seq once it is committed."""
    params = store.event_params(
        event_type=event_type,
        actor=actor,
        payload=payload,
        channel=channel,
        subject=subject,
        correlation_id=correlation_id,
    )
    return _flushers.get(engine).record(params)
