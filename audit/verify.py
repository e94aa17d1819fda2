"""Verification that trusts neither the database nor its stored hashes: every event's digest and chain
hash is recomputed from its fields and payload, the sequence must run 1, 2, 3… without a gap, and the
recomputed chain must meet every signed checkpoint (its head hash, and the Merkle root of everything
before it). The first failing sequence number is reported with the reason."""

from __future__ import annotations

import hashlib
import json
import time
from collections.abc import Iterable, Iterator
from dataclasses import dataclass, field
from typing import Any

from sqlalchemy import func, select
from sqlalchemy.orm import Session

from audit import events
from audit.chain import GENESIS_HASH, ChainedEvent, header_json
from audit.checkpoints import CheckpointError, SignedCheckpoint, load_checkpoints
from audit.merkle import Frontier
from audit.models import AuditEvent, AuditIntake
from audit.wormstore import WriteOnceStore

_sha256 = hashlib.sha256

_HEADERS = """
SELECT e.seq, to_char(e.ts AT TIME ZONE 'UTC', 'YYYY-MM-DD"T"HH24:MI:SS.US"Z"'), e.event_type, e.actor,
       e.channel, e.subject, e.correlation_id, e.payload_digest, e.prev_hash, e.hash, e.id
  FROM audit.events e
"""
EVENTS_SQL = _HEADERS + " WHERE e.seq >= %s AND e.seq <= %s ORDER BY e.seq"
EVENTS_BY_SEQ_SQL = _HEADERS + " WHERE e.seq = ANY(%s) ORDER BY e.seq"
# Payloads are fetched by a range (or list) of event ids beside the headers: a join would be planned as
# a scan of every payload per batch.
PAYLOADS_BY_RANGE_SQL = "SELECT event_id, body FROM audit.payloads WHERE event_id BETWEEN %s AND %s"
PAYLOADS_BY_IDS_SQL = "SELECT event_id, body FROM audit.payloads WHERE event_id = ANY(%s)"


class VerificationFailed(Exception):
    def __init__(self, seq: int | None, reason: str) -> None:
        super().__init__(f"seq {seq}: {reason}" if seq is not None else reason)
        self.seq = seq
        self.reason = reason


@dataclass(frozen=True)
class PurgeRule:
    """What an `audit.payloads_purged` event declares: payloads of `event_type` events before `cutoff`,
    up to `through_seq`, may be missing after it."""

    seq: int
    event_type: str
    cutoff: str  # chain.TS_FORMAT
    through_seq: int

    @classmethod
    def parse(cls, seq: int, payload: str) -> PurgeRule:
        try:
            body = json.loads(payload)
            return cls(seq, str(body["event_type"]), str(body["cutoff"]), int(body["through_seq"]))
        except (ValueError, KeyError, TypeError) as exc:
            raise VerificationFailed(seq, f"a purge event that does not say what it purged ({exc})") from exc

    def covers(self, seq: int, event_type: str, ts: str) -> bool:
        return (
            self.seq > seq and self.event_type == event_type and ts < self.cutoff and seq <= self.through_seq
        )


@dataclass
class ChainVerifier:
    """Feed events in order; raises VerificationFailed at the first one that does not verify.

    With a frontier (a full verification from seq 1, or continuing a verified prefix) every checkpoint's
    Merkle root is checked; without one (verification from a later seq) its head hash is."""

    checkpoints: list[SignedCheckpoint]
    next_seq: int = 1
    prev_hash: bytes = GENESIS_HASH
    frontier: Frontier | None = field(default_factory=Frontier)
    verified: int = 0
    checkpoints_checked: int = 0
    purged_payloads: int = 0
    _pending_checkpoints: list[SignedCheckpoint] = field(default_factory=list)
    _missing: list[tuple[int, str, str]] = field(default_factory=list)
    _purges: list[PurgeRule] = field(default_factory=list)
    _last_checked: int = 0

    def __post_init__(self) -> None:
        self._pending_checkpoints = sorted(
            (c for c in self.checkpoints if c.tree_size >= self.next_seq), key=lambda c: c.tree_size
        )
        self._last_checked = self.next_seq - 1

    def feed(self, row: ChainedEvent) -> None:
        self.feed_all((row,))

    def feed_all(self, rows: Iterable[tuple[Any, ...]]) -> None:
        """The hot loop of verification: locals only, one pass per event."""
        sha256, header, purge_type = _sha256, header_json, events.AUDIT_PAYLOADS_PURGED
        append_leaf = self.frontier.append if self.frontier is not None else None
        expected, prev_hash, first = self.next_seq, self.prev_hash, self.next_seq
        pending = self._pending_checkpoints
        next_checkpoint = pending[0].tree_size if pending else -1
        try:
            for row in rows:
                (
                    seq,
                    ts,
                    event_type,
                    actor,
                    channel,
                    subject,
                    correlation_id,
                    digest,
                    prev,
                    stored,
                    payload,
                ) = row
                if seq != expected:
                    if seq > expected:
                        raise VerificationFailed(
                            expected, f"missing: the chain jumps from {expected - 1} to {seq}"
                        )
                    raise VerificationFailed(seq, f"out of order or repeated: expected {expected}")
                if payload is None:
                    self._missing.append((seq, event_type, ts))
                elif sha256(payload.encode()).digest() != digest:
                    raise VerificationFailed(seq, "the payload does not match the digest the chain covers")
                if prev != prev_hash:
                    raise VerificationFailed(
                        seq, f"its link to {seq - 1} is broken (an event was removed, moved or rewritten)"
                    )
                text = header(ts, event_type, actor, channel, subject, correlation_id, digest.hex())
                link = sha256(
                    b"\x00" + prev + seq.to_bytes(8, "big") + sha256(text.encode()).digest()
                ).digest()
                if link != stored:
                    raise VerificationFailed(
                        seq,
                        "its contents do not match its hash "
                        "(type, actor, channel, subject, correlation id, time or payload digest changed)",
                    )
                prev_hash, expected = link, seq + 1
                if append_leaf is not None:
                    append_leaf(link)
                if event_type == purge_type and payload is not None:
                    self._purges.append(PurgeRule.parse(seq, payload))
                while seq == next_checkpoint:
                    self._check(pending.pop(0), link)
                    next_checkpoint = pending[0].tree_size if pending else -1
        finally:
            self.verified += expected - first
            self.next_seq, self.prev_hash = expected, prev_hash

    def _check(self, checkpoint: SignedCheckpoint, head: bytes) -> None:
        root_ok = self.frontier is None or self.frontier.root() == checkpoint.root_hash
        if head != checkpoint.head_hash or not root_ok:
            raise VerificationFailed(
                self._last_checked + 1,
                f"the events {self._last_checked + 1}..{checkpoint.tree_size} do not match the signed "
                f"checkpoint at size {checkpoint.tree_size} ({checkpoint.timestamp}): they were rewritten",
            )
        self._last_checked = checkpoint.tree_size
        self.checkpoints_checked += 1

    def finish(self) -> None:
        """Checks that need the whole chain: checkpoints beyond its end, and purged payloads."""
        head = self.next_seq - 1
        if self._pending_checkpoints:
            size = self._pending_checkpoints[0].tree_size
            raise VerificationFailed(
                head + 1,
                f"the signed checkpoint at size {size} covers events up to {size} but the chain ends at "
                f"{head}: events were removed from its end",
            )
        for seq, event_type, ts in self._missing:
            if not any(rule.covers(seq, event_type, ts) for rule in self._purges):
                raise VerificationFailed(seq, "its payload is missing and no approved purge covers it")
        self.purged_payloads = len(self._missing)


@dataclass(frozen=True)
class Summary:
    first_seq: int
    last_seq: int
    events: int
    checkpoints_checked: int
    latest_checkpoint: int | None
    purged_payloads: int
    pending: int
    elapsed_s: float

    @property
    def events_per_s(self) -> float:
        return self.events / self.elapsed_s if self.elapsed_s > 0 else 0.0


def _with_payloads(cursor: Any, headers: list[tuple[Any, ...]]) -> Iterator[tuple[Any, ...]]:
    """Headers (ending with the event id) → rows in ChainedEvent's field order, payload last."""
    if not headers:
        return
    ids = [h[-1] for h in headers]
    low, high = min(ids), max(ids)
    if high - low < 4 * len(ids) + 1000:
        cursor.execute(PAYLOADS_BY_RANGE_SQL, (low, high))
    else:
        cursor.execute(PAYLOADS_BY_IDS_SQL, (ids,))
    bodies = dict(cursor.fetchall())
    for header in headers:
        yield (*header[:-1], bodies.get(header[-1]))


def iter_rows(
    session: Session, *, start_seq: int, end_seq: int, batch: int = 20_000
) -> Iterator[tuple[Any, ...]]:
    """Events start_seq..end_seq as stored, as tuples in ChainedEvent's field order, fetched in ranges of
    `batch` seqs (short index-range queries; no snapshot is held for the whole run)."""
    driver = session.connection().connection.driver_connection
    assert driver is not None
    with driver.cursor(binary=True) as cursor:
        for low in range(start_seq, end_seq + 1, batch):
            cursor.execute(EVENTS_SQL, (low, min(low + batch - 1, end_seq)))
            yield from _with_payloads(cursor, cursor.fetchall())


def iter_events(session: Session, *, start_seq: int, end_seq: int) -> Iterator[ChainedEvent]:
    for row in iter_rows(session, start_seq=start_seq, end_seq=end_seq):
        yield ChainedEvent._make(row)


def iter_events_by_seq(session: Session, seqs: list[int]) -> Iterator[ChainedEvent]:
    driver = session.connection().connection.driver_connection
    assert driver is not None
    with driver.cursor(binary=True) as cursor:
        for start in range(0, len(seqs), 5000):
            cursor.execute(EVENTS_BY_SEQ_SQL, (seqs[start : start + 5000],))
            for row in list(_with_payloads(cursor, cursor.fetchall())):
                yield ChainedEvent._make(row)


def chain_head(session: Session) -> int:
    return int(session.scalar(select(func.max(AuditEvent.seq))) or 0)


def pending_count(session: Session) -> int:
    return int(session.scalar(select(func.count()).select_from(AuditIntake)) or 0)


def verify_database(session: Session, *, checkpoints: list[SignedCheckpoint], from_seq: int = 1) -> Summary:
    """Verify the chain from `from_seq` to its head as of now. Raises VerificationFailed."""
    started = time.perf_counter()
    head = chain_head(session)
    pending = pending_count(session)
    if from_seq < 1:
        raise ValueError("--from must be 1 or more")
    if from_seq == 1:
        verifier = ChainVerifier(checkpoints=checkpoints)
    else:
        previous = session.scalar(select(AuditEvent.hash).where(AuditEvent.seq == from_seq - 1))
        if previous is None:
            raise VerificationFailed(from_seq - 1, "missing: the chain does not reach it")
        verifier = ChainVerifier(
            checkpoints=checkpoints, next_seq=from_seq, prev_hash=previous, frontier=None
        )
    verifier.feed_all(iter_rows(session, start_seq=from_seq, end_seq=head))
    verifier.finish()
    return Summary(
        first_seq=from_seq,
        last_seq=verifier.next_seq - 1,
        events=verifier.verified,
        checkpoints_checked=verifier.checkpoints_checked,
        latest_checkpoint=checkpoints[-1].tree_size if checkpoints else None,
        purged_payloads=verifier.purged_payloads,
        pending=pending,
        elapsed_s=time.perf_counter() - started,
    )


def verify_segment(
    session: Session, *, start_seq: int, end_seq: int, prev_hash: bytes, frontier: Frontier
) -> bytes:
    """Recompute events start_seq..end_seq continuing `frontier`; returns the chain hash at end_seq."""
    verifier = ChainVerifier(checkpoints=[], next_seq=start_seq, prev_hash=prev_hash, frontier=frontier)
    verifier.feed_all(iter_rows(session, start_seq=start_seq, end_seq=end_seq))
    if verifier.next_seq != end_seq + 1:
        raise VerificationFailed(verifier.next_seq, f"missing: the chain ends before {end_seq}")
    return verifier.prev_hash


def verify_published(
    session: Session, *, store: WriteOnceStore, public_key_pem: bytes, from_seq: int = 1
) -> dict[str, Any]:
    """Verify the chain against the checkpoints published in the write-once store; the outcome as an
    `audit.verified` event records it (the CLI and the console both run this)."""
    try:
        checkpoints = load_checkpoints(store, public_key_pem)
        summary = verify_database(session, checkpoints=checkpoints, from_seq=from_seq)
    except VerificationFailed as exc:
        return {"ok": False, "failed_seq": exc.seq, "reason": exc.reason}
    except CheckpointError as exc:
        return {"ok": False, "failed_seq": None, "reason": f"checkpoint {exc}"}
    return {
        "ok": True,
        "from_seq": summary.first_seq,
        "to_seq": summary.last_seq,
        "events": summary.events,
        "checkpoints_checked": summary.checkpoints_checked,
        "latest_checkpoint": summary.latest_checkpoint,
        "purged_payloads": summary.purged_payloads,
        "pending": summary.pending,
        "seconds": round(summary.elapsed_s, 3),
    }
