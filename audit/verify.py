"""Verification that trusts neither the database nor its stored hashes: every event's digest and chain
hash is recomputed from its fields and payload, the sequence must run 1, 2, 3… without a gap, and the
recomputed chain must meet every signed checkpoint (its head hash, and the Merkle root of everything
before it). The first failing sequence number is reported with the reason.

Long ranges are recomputed by worker processes (`audit.verify_worker`, one per CPU by default), each
reading and recomputing ranges of VERIFY_BATCH seqs on a connection of its own; this process recomputes
the first ranges itself while they start, links their runs into the chain and checks the checkpoints. A
run that is not consistent in itself, or does not link to the chain before it, is recomputed here row by
row from its first seq, which reports why."""

from __future__ import annotations

import contextlib
import logging
import os
import pickle
import subprocess
import sys
import time
from collections.abc import Iterator
from dataclasses import dataclass
from typing import Any

from sqlalchemy import func, select
from sqlalchemy.orm import Session

from app.core.db import libpq_url, session_role_options
from app.core.settings import get_settings
from audit.chain import ChainedEvent
from audit.checkpoints import CheckpointError, SignedCheckpoint, load_checkpoints
from audit.merkle import Frontier
from audit.models import AuditEvent, AuditIntake
from audit.recompute import ChainVerifier, VerificationFailed
from audit.rows import EVENTS_BY_SEQ_SQL, UTF8_BODY, batches, with_payloads
from audit.wormstore import WriteOnceStore

logger = logging.getLogger(__name__)

VERIFY_BATCH = 10_000  # seqs per read, and per run a worker recomputes
PARALLEL_MIN_EVENTS = 50_000  # shorter ranges are recomputed in this process (a worker takes ~0.1 s to start)
HEAD_START_BATCHES = 2  # batches this process recomputes itself while the workers start


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


def _driver(session: Session) -> Any:
    driver = session.connection().connection.driver_connection
    assert driver is not None
    return driver


def iter_rows(
    session: Session, *, start_seq: int, end_seq: int, batch: int = 20_000
) -> Iterator[tuple[Any, ...]]:
    """Events start_seq..end_seq as stored, as tuples in ChainedEvent's field order (payload as text)."""
    for rows in batches(_driver(session), start_seq=start_seq, end_seq=end_seq, batch=batch):
        yield from rows


def iter_events(session: Session, *, start_seq: int, end_seq: int) -> Iterator[ChainedEvent]:
    for row in iter_rows(session, start_seq=start_seq, end_seq=end_seq):
        yield ChainedEvent._make(row)


def iter_events_by_seq(session: Session, seqs: list[int]) -> Iterator[ChainedEvent]:
    with _driver(session).cursor(binary=True) as cursor:
        for start in range(0, len(seqs), 5000):
            cursor.execute(EVENTS_BY_SEQ_SQL, (seqs[start : start + 5000],))
            for row in with_payloads(cursor, cursor.fetchall()):
                yield ChainedEvent._make(row)


def _processes(events: int) -> int:
    if events < PARALLEL_MIN_EVENTS:
        return 1
    configured = get_settings().audit.verify_processes
    return configured if configured > 0 else len(os.sched_getaffinity(0))


def _recompute(session: Session, verifier: ChainVerifier, *, end_seq: int) -> None:
    """Feed events verifier.next_seq..end_seq to the verifier: through workers for a long range, then
    here, row by row, whatever they left."""
    processes = _processes(end_seq - verifier.next_seq + 1)
    if processes > 1:
        _recompute_in_workers(session, verifier, end_seq=end_seq, processes=processes)
    _recompute_here(session, verifier, end_seq=end_seq)


def _recompute_here(session: Session, verifier: ChainVerifier, *, end_seq: int) -> None:
    if verifier.next_seq <= end_seq:
        driver = _driver(session)
        for rows in batches(
            driver, start_seq=verifier.next_seq, end_seq=end_seq, batch=VERIFY_BATCH, body=UTF8_BODY
        ):
            verifier.feed_all(rows)


def _recompute_in_workers(session: Session, verifier: ChainVerifier, *, end_seq: int, processes: int) -> None:
    """Runs of VERIFY_BATCH seqs, dealt round-robin to `processes` workers and taken back in order, after
    the first HEAD_START_BATCHES recomputed here while they start; stops at the first run that is not
    taken (the caller goes on from verifier.next_seq)."""
    bind = session.get_bind()
    url = libpq_url(bind.engine.url.render_as_string(hide_password=False))
    options = session_role_options().get("options", "")
    head_start = HEAD_START_BATCHES * VERIFY_BATCH
    ranges = [
        (low, min(low + VERIFY_BATCH - 1, end_seq))
        for low in range(verifier.next_seq + head_start, end_seq + 1, VERIFY_BATCH)
    ]
    workers = [
        subprocess.Popen(
            [sys.executable, "-m", "audit.verify_worker"], stdin=subprocess.PIPE, stdout=subprocess.PIPE
        )
        for _ in range(min(processes, len(ranges)))
    ]
    try:
        for number, worker in enumerate(workers):
            assert worker.stdin is not None
            job = {"url": url, "options": options, "ranges": ranges[number :: len(workers)]}
            pickle.dump(job, worker.stdin, protocol=pickle.HIGHEST_PROTOCOL)
            worker.stdin.close()
        _recompute_here(session, verifier, end_seq=min(end_seq, verifier.next_seq + head_start - 1))
        for number in range(len(ranges)):
            stdout = workers[number % len(workers)].stdout
            assert stdout is not None
            try:
                run = pickle.load(stdout)  # noqa: S301 - from the worker this process started
            except (EOFError, OSError, pickle.UnpicklingError):
                logger.warning("an audit verification worker stopped; verifying the rest in this process")
                return
            if run is None or not verifier.adopt(run):
                return
    finally:
        for worker in workers:
            if worker.poll() is None:
                worker.kill()
            worker.wait()
            for pipe in (worker.stdin, worker.stdout):
                if pipe is not None:
                    with contextlib.suppress(OSError):
                        pipe.close()


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
    _recompute(session, verifier, end_seq=head)
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
    _recompute(session, verifier, end_seq=end_seq)
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
