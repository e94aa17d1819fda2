"""The periodic audit job (beat, and `plinth audit checkpoint`): seal events a dead process left in the
intake, then make a checkpoint when one is due and publish it.

Unlike services, this owns its transactions: a checkpoint must be committed durably before it is written
to the write-once store, so that nothing it covers can be undone by a crash."""

from __future__ import annotations

from dataclasses import dataclass

from sqlalchemy import text

from app.core.db import engine, session_scope
from audit import checkpointing
from audit import store as audit_store
from audit.checkpoints import SignedCheckpoint
from audit.signing import Signer
from audit.wormstore import WriteOnceStore

MAINTENANCE_LOCK_KEY = 0x504C494E5449  # one maintenance run at a time, across processes


@dataclass(frozen=True)
class MaintenanceRun:
    ran: bool  # False: another run held the lock
    sealed: int = 0
    checkpoint: SignedCheckpoint | None = None
    published: tuple[str, ...] = ()


def run(*, signer: Signer, store: WriteOnceStore, force: bool = False) -> MaintenanceRun:
    with engine().connect() as lock:
        if not lock.execute(text("SELECT pg_try_advisory_lock(:k)"), {"k": MAINTENANCE_LOCK_KEY}).scalar():
            return MaintenanceRun(ran=False)
        lock.commit()
        try:
            with engine().connect() as connection:
                sealed = audit_store.chain_pending(connection)
            with session_scope() as session:
                due = force or checkpointing.is_due(session)
                checkpoint = checkpointing.create(session, signer=signer) if due else None
            with session_scope() as session:
                published = checkpointing.publish(session, store=store)
        finally:
            lock.execute(text("SELECT pg_advisory_unlock(:k)"), {"k": MAINTENANCE_LOCK_KEY})
            lock.commit()
    return MaintenanceRun(ran=True, sealed=sealed, checkpoint=checkpoint, published=tuple(published))
