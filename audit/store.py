"""Append events to the hash chain. Each event's hash covers its canonical header (sequence number,
time, type, actor, channel, subject, correlation id), the digest of its payload and the previous hash.

The event is written in the caller's transaction, so it exists exactly when the action it records does.
Sequence numbers are assigned under a transaction-scoped advisory lock: gapless and in chain order."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime
from typing import Any

from sqlalchemy import select, text
from sqlalchemy.orm import Session

from app.core.context import correlation_id as current_correlation_id
from app.core.db import utcnow
from audit.canonical import canonical_json, sha256
from audit.models import AuditEvent

GENESIS_HASH = b"\x00" * 32
_CHAIN_LOCK_KEY = 0x504C494E5448  # "PLINTH"


@dataclass(frozen=True)
class EventHeader:
    seq: int
    ts: datetime
    event_type: str
    actor: str
    channel: str | None
    subject: str | None
    correlation_id: str | None

    def canonical(self) -> dict[str, Any]:
        return {
            "seq": self.seq,
            "ts": self.ts.isoformat(timespec="microseconds"),
            "type": self.event_type,
            "actor": self.actor,
            "channel": self.channel,
            "subject": self.subject,
            "correlation_id": self.correlation_id,
        }


def event_hash(header: EventHeader, payload_digest: bytes, prev_hash: bytes) -> bytes:
    body = {**header.canonical(), "payload_sha256": payload_digest.hex(), "prev": prev_hash.hex()}
    return sha256(canonical_json(body))


def append(
    session: Session,
    *,
    event_type: str,
    actor: str,
    payload: dict[str, Any],
    channel: str | None = None,
    subject: str | None = None,
    correlation_id: str | None = None,
) -> AuditEvent:
    session.execute(text("SELECT pg_advisory_xact_lock(:key)"), {"key": _CHAIN_LOCK_KEY})
    head = session.execute(
        select(AuditEvent.seq, AuditEvent.hash).order_by(AuditEvent.seq.desc()).limit(1)
    ).first()
    seq, prev_hash = (head[0] + 1, head[1]) if head else (1, GENESIS_HASH)
    header = EventHeader(
        seq=seq,
        ts=utcnow(),
        event_type=event_type,
        actor=actor,
        channel=channel,
        subject=subject,
        correlation_id=correlation_id or current_correlation_id(),
    )
    digest = sha256(canonical_json(payload))
    event = AuditEvent(
        seq=header.seq,
        ts=header.ts,
        event_type=header.event_type,
        actor=header.actor,
        channel=header.channel,
        subject=header.subject,
        correlation_id=header.correlation_id,
        payload=payload,
        payload_digest=digest,
        prev_hash=prev_hash,
        hash=event_hash(header, digest, prev_hash),
    )
    session.add(event)
    session.flush()
    return event
