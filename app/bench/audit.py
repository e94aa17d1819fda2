"""`plinth bench audit`: durable appends per second (synchronous_commit on) with 1 and 16 writers, for
Plinth's store and for the naive design beside it — one transaction per event that locks the chain head
with SELECT … FOR UPDATE — and how fast `verify` recomputes the chain at 10^5 and 10^6 events.

Everything runs on a scratch embedded PostgreSQL (fsync on, as `plinth up` runs it) that is removed
afterwards; writers are threads spread over one process per core, each appending one event per
transaction through the same session path the application uses."""

from __future__ import annotations

import hashlib
import multiprocessing
import os
import shutil
import tempfile
import threading
import time
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any

import psycopg
from sqlalchemy import create_engine, event
from sqlalchemy.orm import Session, sessionmaker

from app.bench.report import emit, machine, percentile
from app.core.db import session_role_options, sqlalchemy_url
from app.runtime import migrate
from app.runtime.postgres import EmbeddedPostgres
from audit import group_commit, store
from audit.canonical import canonical_json
from audit.verify import verify_database

BENCH = "audit"
PAYLOAD = {"text": "How many hours of annual leave do I earn per pay period?", "external_id": None}
BASELINE_SQL = """
CREATE TABLE bench_chain_head (id integer PRIMARY KEY, seq bigint NOT NULL, hash bytea NOT NULL);
INSERT INTO bench_chain_head VALUES (1, 0, decode(repeat('00', 32), 'hex'));
CREATE TABLE bench_chain (seq bigint PRIMARY KEY, ts timestamptz NOT NULL, event_type text NOT NULL,
                          actor text NOT NULL, payload text NOT NULL, prev_hash bytea NOT NULL,
                          hash bytea NOT NULL);
"""


@contextmanager
def scratch_database() -> Iterator[str]:
    root = Path(tempfile.mkdtemp(prefix="plinth-bench-audit-"))
    server = EmbeddedPostgres(root=root, shared_buffers="256MB")
    try:
        server.start()
        url = server.url()
        migrate.upgrade(url)
        with psycopg.connect(url, autocommit=True) as conn:
            conn.execute(BASELINE_SQL)
            conn.execute("GRANT SELECT, INSERT, UPDATE ON bench_chain_head, bench_chain TO plinth_app")
        yield url
    finally:
        server.stop()
        shutil.rmtree(root, ignore_errors=True)


def _plinth_record(factory: sessionmaker[Session], i: int) -> None:
    engine = factory.kw["bind"]
    group_commit.record(
        engine, event_type="bench.input", actor="system", channel="api", payload={**PAYLOAD, "i": i}
    )


def _plinth_in_transaction(factory: sessionmaker[Session], i: int) -> None:
    with factory() as session:
        store.append(
            session, event_type="bench.input", actor="system", channel="api", payload={**PAYLOAD, "i": i}
        )
        session.commit()


def _baseline_append(factory: sessionmaker[Session], i: int) -> None:
    with factory() as session:
        driver = session.connection().connection.driver_connection
        assert driver is not None
        seq, prev = driver.execute(
            "SELECT seq, hash FROM bench_chain_head WHERE id = 1 FOR UPDATE"
        ).fetchone()
        body = canonical_json({**PAYLOAD, "i": i})
        link = hashlib.sha256(prev + (seq + 1).to_bytes(8, "big") + hashlib.sha256(body).digest()).digest()
        driver.execute(
            "INSERT INTO bench_chain VALUES (%s, now(), 'bench.input', 'system', %s, %s, %s)",
            (seq + 1, body.decode(), prev, link),
        )
        driver.execute("UPDATE bench_chain_head SET seq = %s, hash = %s WHERE id = 1", (seq + 1, link))
        session.commit()


# "plinth": an event on its own (group-committed); "plinth-in-transaction": an event in the transaction
# of the action it records, here one event per transaction.
APPENDS: dict[str, Callable[[sessionmaker[Session], int], None]] = {
    "plinth": _plinth_record,
    "plinth-in-transaction": _plinth_in_transaction,
    "baseline-lock-head": _baseline_append,
}


def _writer_process(*, url: str, variant: str, threads: int, seconds: float, start: Any, out: Any) -> None:
    engine = create_engine(
        sqlalchemy_url(url), pool_size=2 * threads + 2, max_overflow=0, connect_args=session_role_options()
    )
    factory = sessionmaker(bind=engine)
    append = APPENDS[variant]
    committed_at: dict[int, float] = {}

    @event.listens_for(Session, "after_commit", insert=True)  # before the store seals
    def _committed(session: Session) -> None:
        committed_at[threading.get_ident()] = time.perf_counter()

    results: list[tuple[int, list[float], list[float]]] = []

    def loop() -> None:
        latencies, lags, count = [], [], 0
        start.wait()
        deadline = time.perf_counter() + seconds
        while time.perf_counter() < deadline:
            began = time.perf_counter()
            append(factory, count)
            done = time.perf_counter()
            latencies.append(done - began)
            lags.append(done - committed_at.get(threading.get_ident(), done))
            count += 1
        results.append((count, latencies, lags))

    workers = [threading.Thread(target=loop) for _ in range(threads)]
    for worker in workers:
        worker.start()
    for worker in workers:
        worker.join()
    engine.dispose()
    out.put(results)


def measure_appends(url: str, *, variant: str, writers: int, seconds: float) -> dict[str, float]:
    context = multiprocessing.get_context("fork")
    processes = min(writers, os.cpu_count() or 1)
    start, out = context.Event(), context.Queue()
    children = [
        context.Process(
            target=_writer_process,
            kwargs={
                "url": url,
                "variant": variant,
                "threads": writers // processes + (1 if p < writers % processes else 0),
                "seconds": seconds,
                "start": start,
                "out": out,
            },
        )
        for p in range(processes)
    ]
    for child in children:
        child.start()
    time.sleep(1.0)  # connections open, imports done
    began = time.perf_counter()
    start.set()
    results = [result for _ in children for result in out.get()]
    elapsed = time.perf_counter() - began
    for child in children:
        child.join()
    total = sum(count for count, _, _ in results)
    latencies = [x for _, lat, _ in results for x in lat]
    lags = [x for _, _, lag in results for x in lag]
    return {
        "appends_per_s": total / max(elapsed, seconds),
        "append_p50_ms": percentile(latencies, 50) * 1000,
        "append_p99_ms": percentile(latencies, 99) * 1000,
        "chain_lag_p99_ms": percentile(lags, 99) * 1000,
        "appends": total,
    }


def fill(url: str, total: int) -> None:
    """Grow the chain to `total` events through the store's own functions (server-side, in batches)."""
    with psycopg.connect(url, autocommit=True) as conn:
        have = conn.execute("SELECT coalesce(max(seq), 0) FROM audit.events").fetchone()[0]  # type: ignore[index]
        for start in range(have, total, 50_000):
            stop = min(start + 50_000, total)
            conn.execute(
                "SELECT count(audit.append('bench.input', 'system', 'api', 'message:' || i, md5(i::text), "
                '\'{"i":\' || i || \',"text":"How many hours of annual leave do I earn?"}\')) '
                "FROM generate_series(%s::bigint, %s::bigint) AS i",
                (start + 1, stop),
            )
            while conn.execute("SELECT audit.chain_pending(50000)").fetchone()[0]:  # type: ignore[index]
                pass


def measure_verify(url: str, total: int) -> float:
    fill(url, total)
    engine = create_engine(sqlalchemy_url(url), connect_args=session_role_options())
    with Session(bind=engine) as session:
        summary = verify_database(session, checkpoints=[])
    engine.dispose()
    assert summary.events == total
    return summary.elapsed_s


def run(
    writers: tuple[int, ...] = (1, 16),
    seconds: float = 10.0,
    verify_sizes: tuple[int, ...] = (100_000, 1_000_000),
) -> None:
    context = machine()
    with scratch_database() as url:
        for count in writers:
            for variant in APPENDS:
                figures = measure_appends(url, variant=variant, writers=count, seconds=seconds)
                common = {**context, "writers": count, "seconds": seconds, "appends": figures["appends"]}
                emit(
                    bench=BENCH,
                    variant=variant,
                    metric="appends_per_s",
                    value=figures["appends_per_s"],
                    unit="1/s",
                    **common,
                )
                for metric in ("append_p50_ms", "append_p99_ms"):
                    emit(
                        bench=BENCH,
                        variant=variant,
                        metric=metric,
                        value=figures[metric],
                        unit="ms",
                        **common,
                    )
                if variant == "plinth-in-transaction":
                    emit(
                        bench=BENCH,
                        variant=variant,
                        metric="chain_lag_p99_ms",
                        value=figures["chain_lag_p99_ms"],
                        unit="ms",
                        **common,
                    )
        timings: dict[int, float] = {}
        for total in verify_sizes:
            timings[total] = measure_verify(url, total)
            emit(
                bench=BENCH,
                variant="plinth",
                metric="verify_events_per_s",
                value=total / timings[total],
                unit="1/s",
                events=total,
                **context,
            )
            emit(
                bench=BENCH,
                variant="plinth",
                metric="verify_seconds",
                value=timings[total],
                unit="s",
                events=total,
                **context,
            )
        if len(verify_sizes) > 1:
            small, large = verify_sizes[0], verify_sizes[-1]
            emit(
                bench=BENCH,
                variant="plinth",
                metric="verify_time_growth",
                value=timings[large] / timings[small],
                unit="x",
                events_from=small,
                events_to=large,
                **context,
            )
