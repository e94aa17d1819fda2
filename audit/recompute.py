"""Recomputing the chain from events as stored, with no database at hand (so verification workers and
offline bundle checks run it too): every payload digest, event digest and chain hash is recomputed, the
sequence must run without a gap, and the recomputed chain must meet every signed checkpoint. The first
failing sequence number is reported with the reason."""

from __future__ import annotations

import hashlib
import json
from collections.abc import Iterable
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any, NamedTuple

from audit import events
from audit.chain import GENESIS_HASH, ChainedEvent, header_json
from audit.merkle import HASH_SIZE, Frontier

if TYPE_CHECKING:
    from audit.checkpoints import SignedCheckpoint

_sha256 = hashlib.sha256


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
        """The hot loop of verification: locals only, one pass per event. Payloads are UTF-8 bytes (as
        fetched for verification) or text."""
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
                if payload.__class__ is str:
                    payload = payload.encode()
                if payload is None:
                    self._missing.append((seq, event_type, ts))
                elif sha256(payload).digest() != digest:
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
                    self._purges.append(PurgeRule.parse(seq, payload.decode()))
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

    def adopt(self, run: Run) -> bool:
        """Continue the chain with a run a worker recomputed on its own (see `recompute_run`). It is
        taken only if it starts where the chain is and its first stored link is the chain's head;
        returns False otherwise, and the caller feeds those events here one by one, which finds out why."""
        count = len(run.hashes) // HASH_SIZE
        if run.first_seq != self.next_seq or run.first_prev != self.prev_hash or count == 0:
            return False
        first, last, hashes = run.first_seq, run.first_seq + count - 1, run.hashes
        pending, done = self._pending_checkpoints, first - 1  # the last seq in the frontier
        while pending and pending[0].tree_size <= last:
            size = pending[0].tree_size
            self._extend(hashes, first, done, size)
            done = size
            self._check(pending.pop(0), hashes[(size - first) * HASH_SIZE : (size - first + 1) * HASH_SIZE])
        self._extend(hashes, first, done, last)
        self._missing.extend(run.missing)
        self._purges.extend(run.purges)
        self.verified += count
        self.next_seq, self.prev_hash = last + 1, hashes[-HASH_SIZE:]
        return True

    def _extend(self, hashes: bytes, first: int, done: int, upto: int) -> None:
        """Append the chain hashes of seqs done+1..upto to the frontier (`hashes` starts at `first`)."""
        if self.frontier is not None:
            start, stop = (done + 1 - first) * HASH_SIZE, (upto + 1 - first) * HASH_SIZE
            self.frontier.extend(hashes[i : i + HASH_SIZE] for i in range(start, stop, HASH_SIZE))

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


class Run(NamedTuple):
    """Events first_seq.. recomputed in a worker: each one's chain hash, in order, and what `finish`
    needs of them."""

    first_seq: int
    first_prev: bytes  # the first event's stored link, which the receiving chain must end with
    hashes: bytes  # HASH_SIZE bytes per event
    missing: list[tuple[int, str, str]]
    purges: list[PurgeRule]


def recompute_run(rows: list[tuple[Any, ...]], *, first_seq: int, last_seq: int) -> Run | None:
    """Recompute rows first_seq..last_seq (ChainedEvent's field order) from the first one's stored link
    on, with no checkpoint; None unless every one of them verifies."""
    if not rows:
        return None
    verifier = ChainVerifier(checkpoints=[], next_seq=first_seq, prev_hash=rows[0][8], frontier=None)
    try:
        verifier.feed_all(rows)
    except VerificationFailed:
        return None
    if verifier.next_seq != last_seq + 1:
        return None
    hashes = b"".join(row[9] for row in rows)  # each equal to the recomputed link
    return Run(first_seq, rows[0][8], hashes, verifier._missing, verifier._purges)
