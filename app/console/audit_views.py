"""The Audit pages' reads: search, one event with its chain position and inclusion proof, and chain
verification. Each read is itself an audit event, in the same transaction. Segregation of duties: callers
without `audit.read_payloads` (admins without the audit_payloads grant) see headers and digests, never
payloads, and may not search payload text (the search would reveal what it matches)."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from sqlalchemy import select
from sqlalchemy.orm import Session

from app.console.access import Access, Permission, deny
from app.console.filters import AuditQuery
from app.console.proofs import Fetch, Proof, inclusion_proof
from app.core.db import session_scope
from app.core.errors import AppError, NotFound
from app.domains.principals import service as principals
from audit import events, query
from audit import store as audit_store
from audit.checkpoints import CheckpointError, SignedCheckpoint, load_checkpoints
from audit.merkle import Frontier
from audit.models import AuditEvent
from audit.signing import default_signer
from audit.verify import VerificationFailed, chain_head, verify_segment
from audit.wormstore import default_store

CONSOLE = "console"


@dataclass(frozen=True)
class SearchResult:
    page: query.Page
    payloads_shown: bool


def _record(session: Session, access: Access, event_type: str, payload: dict[str, Any]) -> None:
    audit_store.append(
        session,
        event_type=event_type,
        actor=principals.actor(access.caller.principal_id),
        channel=CONSOLE,
        payload=payload,
    )


def _hide_payloads(records: list[query.EventRecord]) -> list[query.EventRecord]:
    return [query.EventRecord(**{**record.__dict__, "payload": None}) for record in records]


def search(access: Access, *, asked: AuditQuery, before: int | None, limit: int) -> SearchResult:
    """Newest first; `before` continues from a page's last seq. Filters that make no query are refused
    with the reason, and the refusal is audited."""
    shown = access.can(Permission.AUDIT_READ_PAYLOADS)
    try:
        filters = asked.to_filter()
    except AppError as exc:
        with session_scope() as session:
            _record(
                session,
                access,
                events.AUDIT_QUERY_REJECTED,
                {"what": "search the audit trail", "reason": exc.message, "filters": asked.form},
            )
        raise
    if filters.text is not None and not shown:
        raise deny(
            access.caller,
            "search audit payload text",
            "searching payload text needs the compliance role or the audit_payloads grant",
        )
    with session_scope() as session:
        page = query.find(session, filters=filters, limit=limit, after=before, descending=True)
        _record(
            session,
            access,
            events.AUDIT_QUERIED,
            {
                "filters": filters.describe(),
                "before": before,
                "limit": limit,
                "returned": len(page.events),
                "seqs": [page.events[0].seq, page.events[-1].seq] if page.events else None,
                "payloads": shown,
            },
        )
    if not shown:
        page = query.Page(
            events=_hide_payloads(page.events),
            next_after=page.next_after,
            head_seq=page.head_seq,
            pending=page.pending,
        )
    return SearchResult(page=page, payloads_shown=shown)


@dataclass(frozen=True)
class ProofResult:
    checkpoint: SignedCheckpoint | None
    proof: Proof | None
    verified: bool
    problem: str | None  # why there is no verified proof


@dataclass(frozen=True)
class EventDetail:
    record: query.EventRecord  # its payload None when purged or hidden from the caller
    purged: bool
    prev_hash: str
    head_seq: int
    contents_match: bool  # the stored hash recomputed from the event's fields and payload digest
    proof: ProofResult
    payloads_shown: bool


def _hashes(session: Session) -> Fetch:
    """Leaf hashes by position (seq - 1)."""

    def fetch(start: int, end: int) -> list[bytes]:
        return list(
            session.scalars(
                select(AuditEvent.hash)
                .where(AuditEvent.seq > start, AuditEvent.seq <= end)
                .order_by(AuditEvent.seq)
            )
        )

    return fetch


def _proof(session: Session, seq: int) -> ProofResult:
    try:
        checkpoints = load_checkpoints(default_store(), default_signer().public_key_pem())
    except CheckpointError as exc:
        return ProofResult(None, None, False, f"a checkpoint file does not verify: {exc}")
    if not checkpoints:
        return ProofResult(None, None, False, "no signed checkpoint yet")
    final = checkpoints[-1]
    if seq > final.tree_size:
        return ProofResult(
            final, None, False, f"recorded after the latest signed checkpoint (size {final.tree_size})"
        )
    try:
        proof = inclusion_proof(seq - 1, final.tree_size, _hashes(session))
    except ValueError as exc:
        return ProofResult(final, None, False, f"the stored chain is shorter than the checkpoint ({exc})")
    if not proof.verifies(final.root_hash):
        return ProofResult(final, proof, False, "the stored chain does not match the signed Merkle root")
    return ProofResult(final, proof, True, None)


def _contents_match(session: Session, event: AuditEvent) -> bool:
    try:
        verify_segment(
            session, start_seq=event.seq, end_seq=event.seq, prev_hash=event.prev_hash, frontier=Frontier()
        )
    except VerificationFailed:
        return False
    return True


def event_detail(access: Access, *, seq: int) -> EventDetail:
    shown = access.can(Permission.AUDIT_READ_PAYLOADS)
    with session_scope() as session:
        page = query.find(session, filters=query.EventFilter(), limit=1, after=seq - 1, through_seq=seq)
        event = session.get(AuditEvent, seq)
        if event is None or not page.events:
            raise NotFound(f"no audit event {seq} in the chain")
        record = page.events[0]
        detail = EventDetail(
            record=record if shown else _hide_payloads([record])[0],
            purged=record.payload is None,
            prev_hash=event.prev_hash.hex(),
            head_seq=chain_head(session),
            contents_match=_contents_match(session, event),
            proof=_proof(session, seq),
            payloads_shown=shown,
        )
        _record(
            session,
            access,
            events.AUDIT_QUERIED,
            {
                "event": seq,
                "payloads": shown,
                "proof_verified": detail.proof.verified,
                "checkpoint": detail.proof.checkpoint.tree_size if detail.proof.checkpoint else None,
            },
        )
        return detail
