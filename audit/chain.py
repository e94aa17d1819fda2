"""How an event is hashed into the chain. The same definitions are implemented in SQL by the
`audit.append` and `audit.chain_pending` functions (migrations/versions/20261201_audit_store.py); the
verifier uses these, so the database is never trusted to have hashed correctly.

- payload digest = SHA-256 of the payload's canonical JSON (stored apart from the chain, so it can be
  purged while the chain stays verifiable);
- event digest   = SHA-256 of the canonical JSON of the event header and the payload digest;
- chain hash     = SHA-256(0x00 || previous chain hash || seq as 8 bytes big-endian || event digest).

The chain hash is the RFC 6962 leaf hash of (previous hash, seq, event digest), so the chain hashes are
directly the leaves of the Merkle tree that checkpoints sign."""

from __future__ import annotations

import hashlib
from collections.abc import Callable
from datetime import UTC, datetime
from json.encoder import encode_basestring
from typing import NamedTuple

GENESIS_HASH = b"\x00" * 32
TS_FORMAT = "%Y-%m-%dT%H:%M:%S.%fZ"  # SQL: to_char(ts AT TIME ZONE 'UTC', 'YYYY-MM-DD"T"HH24:MI:SS.US"Z"')

_sha256 = hashlib.sha256


def format_ts(ts: datetime) -> str:
    return ts.astimezone(UTC).strftime(TS_FORMAT)


def header_json(  # noqa: PLR0917 - positional on purpose: the verifier's hot path
    ts: str,
    event_type: str,
    actor: str,
    channel: str | None,
    subject: str | None,
    correlation_id: str | None,
    payload_digest_hex: str,
    _quote: Callable[[str], str] = encode_basestring,
) -> str:
    """The canonical JSON of an event, positionally (the verifier's hot path); see `event_json`.
    For strings, RFC 8785 escaping is exactly that of json.dumps(ensure_ascii=False)."""
    return (
        f'{{"actor":{_quote(actor)}'
        f',"channel":{"null" if channel is None else _quote(channel)}'
        f',"correlation_id":{"null" if correlation_id is None else _quote(correlation_id)}'
        f',"payload_sha256":"{payload_digest_hex}"'
        f',"subject":{"null" if subject is None else _quote(subject)}'
        f',"ts":"{ts}","type":{_quote(event_type)}}}'
    )


def event_json(
    *,
    ts: str,
    event_type: str,
    actor: str,
    channel: str | None,
    subject: str | None,
    correlation_id: str | None,
    payload_digest_hex: str,
) -> str:
    """The canonical JSON of an event (keys in RFC 8785 order). `ts` is already formatted (TS_FORMAT)."""
    return header_json(ts, event_type, actor, channel, subject, correlation_id, payload_digest_hex)


def chain_hash(prev_hash: bytes, seq: int, digest: bytes) -> bytes:
    return _sha256(b"\x00" + prev_hash + seq.to_bytes(8, "big") + digest).digest()


class ChainedEvent(NamedTuple):
    """One event as read back for verification or export, every field as stored."""

    seq: int
    ts: str  # TS_FORMAT
    event_type: str
    actor: str
    channel: str | None
    subject: str | None
    correlation_id: str | None
    payload_digest: bytes
    prev_hash: bytes
    hash: bytes
    payload: str | None  # canonical JSON text; None once purged

    def recomputed_digest(self) -> bytes:
        return _sha256(
            event_json(
                ts=self.ts,
                event_type=self.event_type,
                actor=self.actor,
                channel=self.channel,
                subject=self.subject,
                correlation_id=self.correlation_id,
                payload_digest_hex=self.payload_digest.hex(),
            ).encode()
        ).digest()
