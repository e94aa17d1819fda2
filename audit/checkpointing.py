"""Making checkpoints: every N events or T minutes (the maintenance task asks `is_due`), sign the Merkle
root and head of the chain and record it; then publish it to the write-once store. The events added since
the previous checkpoint are verified from their contents first, so a checkpoint never endorses rows that
were altered after they were chained."""

from __future__ import annotations

import dataclasses
from datetime import timedelta

from sqlalchemy import func, select, text
from sqlalchemy.orm import Session

from app.core.db import utcnow
from app.core.settings import get_settings
from audit.chain import GENESIS_HASH, format_ts
from audit.checkpoints import SignedCheckpoint, file_name
from audit.merkle import HASH_SIZE, Frontier
from audit.models import AuditEvent, Checkpoint
from audit.signing import Signer, key_id
from audit.verify import verify_segment
from audit.wormstore import WriteOnceStore

_RECORD = text(
    "SELECT audit.record_checkpoint(:size, :root, :head, :key_id, :statement, :signature, :frontier)"
)


def latest(session: Session) -> Checkpoint | None:
    return session.scalars(select(Checkpoint).order_by(Checkpoint.tree_size.desc()).limit(1)).first()


def _frontier(stored: Checkpoint | None) -> Frontier:
    if stored is None:
        return Frontier()
    raw = stored.frontier
    return Frontier(stored.tree_size, [raw[i : i + HASH_SIZE] for i in range(0, len(raw), HASH_SIZE)])


def _head(session: Session) -> int:
    return int(session.scalar(select(func.max(AuditEvent.seq))) or 0)


def is_due(session: Session) -> bool:
    """N events (PLINTH_AUDIT_CHECKPOINT_EVERY_EVENTS) or T minutes since the last checkpoint, if the
    chain grew."""
    settings = get_settings().audit
    head, last = _head(session), latest(session)
    if last is None or head <= last.tree_size:
        return last is None and head > 0
    if head - last.tree_size >= settings.checkpoint_every_events:
        return True
    return utcnow() - last.created_at >= timedelta(minutes=settings.checkpoint_every_minutes)


def create(session: Session, *, signer: Signer) -> SignedCheckpoint | None:
    """Sign and record a checkpoint at the chain's head (None if it did not grow since the last one).
    The caller commits durably — which also makes durable every sealing the checkpoint covers — and
    then calls `publish`."""
    last = latest(session)
    frontier = _frontier(last)
    head = _head(session)
    if head <= frontier.size:
        return None
    head_hash = verify_segment(
        session,
        start_seq=frontier.size + 1,
        end_seq=head,
        prev_hash=last.head_hash if last else GENESIS_HASH,
        frontier=frontier,
    )
    public_key = signer.public_key_pem()
    unsigned = SignedCheckpoint(
        tree_size=head,
        root_hash=frontier.root(),
        head_hash=head_hash,
        timestamp=format_ts(utcnow()),
        key_id=key_id(public_key),
        signature=b"",
    )
    checkpoint = dataclasses.replace(unsigned, signature=signer.sign(unsigned.signed_bytes()))
    session.execute(
        _RECORD,
        {
            "size": checkpoint.tree_size,
            "root": checkpoint.root_hash,
            "head": checkpoint.head_hash,
            "key_id": checkpoint.key_id,
            "statement": checkpoint.to_file().decode(),
            "signature": checkpoint.signature,
            "frontier": b"".join(frontier.nodes),
        },
    )
    return checkpoint


def publish(session: Session, *, store: WriteOnceStore) -> list[str]:
    """Write the recorded checkpoints the store lacks (newest first, stopping at one it holds, so a run
    interrupted between commit and write is finished by the next). Returns the names written."""
    present = set(store.names())
    written = []
    for row in session.scalars(select(Checkpoint).order_by(Checkpoint.tree_size.desc())):
        name = file_name(row.tree_size)
        if name in present:
            break
        store.put(name, row.statement.encode())
        written.append(name)
    return written
