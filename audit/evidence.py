"""Collect what a bundle holds from the database and the write-once store. The stored chain hashes the
Merkle tree is built from are checked against every signed checkpoint before any proof is made."""

from __future__ import annotations

from sqlalchemy import select
from sqlalchemy.orm import Session

from app.core.db import utcnow
from audit import events as event_types
from audit.bundle import BundleContents
from audit.chain import ChainedEvent, format_ts
from audit.checkpoints import load_checkpoints
from audit.merkle import MerkleTree
from audit.models import AuditEvent
from audit.query import EventFilter, matching_seqs
from audit.verify import VerificationFailed, iter_events, iter_events_by_seq
from audit.wormstore import WriteOnceStore


def collect(
    session: Session, *, filters: EventFilter, store: WriteOnceStore, public_key_pem: bytes
) -> BundleContents:
    """Every event (no filter) or the matching ones plus every purge event, up to the last checkpoint."""
    checkpoints = load_checkpoints(store, public_key_pem)
    if not checkpoints:
        raise VerificationFailed(None, "no signed checkpoint yet: run `plinth audit checkpoint` first")
    final = checkpoints[-1]
    hashes = list(
        session.scalars(
            select(AuditEvent.hash).where(AuditEvent.seq <= final.tree_size).order_by(AuditEvent.seq)
        )
    )
    if len(hashes) != final.tree_size:
        raise VerificationFailed(
            len(hashes) + 1, f"the chain ends before the checkpoint at {final.tree_size}"
        )
    tree = MerkleTree(hashes)
    for checkpoint in checkpoints:
        if tree.root(checkpoint.tree_size) != checkpoint.root_hash:
            raise VerificationFailed(
                None, f"the stored chain does not match the signed checkpoint at size {checkpoint.tree_size}"
            )
    complete = filters == EventFilter()
    selected: list[ChainedEvent]
    if complete:
        selected = list(iter_events(session, start_seq=1, end_seq=final.tree_size))
    else:
        seqs = set(matching_seqs(session, filters=filters, through_seq=final.tree_size))
        seqs |= set(
            matching_seqs(
                session,
                filters=EventFilter(event_types=(event_types.AUDIT_PAYLOADS_PURGED,)),
                through_seq=final.tree_size,
            )
        )
        selected = list(iter_events_by_seq(session, sorted(seqs)))
    return BundleContents(
        events=selected,
        complete=complete,
        checkpoints=[store.get(c.name) for c in checkpoints],
        final=final,
        tree=tree,
        filters=filters.describe(),
        created_at=format_ts(utcnow()),
    )
