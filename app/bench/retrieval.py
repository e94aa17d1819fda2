"""`plinth bench retrieval`: N synthetic 384-d vectors bulk-loaded (COPY) into a halfvec column, an HNSW
index built, then single-client p50/p95 latency and recall@10 against exact search for each ef_search,
unfiltered and with a 1% selective access filter (iterative scans), throughput with concurrent clients,
and the exact scan beside them as the baseline.

Vectors are generated the same way every run: 1,000 Gaussian centres, each vector a centre plus
N(0, 0.35²) noise per dimension, L2-normalised, fixed seed."""

from __future__ import annotations

import threading
import time
from collections.abc import Sequence
from typing import Any

import numpy as np
import numpy.typing as npt
import psycopg

from app.bench.report import emit, machine, percentile
from app.core.settings import get_settings

DIMS = 384
CENTRES = 1000
CENTRES_SEED = 20261202
NOISE = 0.35
GROUPS = 100  # one access group in a hundred: the 1% filter
_K = 10
_TABLE = "bench_retrieval_vectors"


def generate(n: int, *, seed: int) -> npt.NDArray[np.float32]:
    """n vectors around the same 1,000 centres every run (corpus and queries alike); `seed` draws which
    centre each vector belongs to and its noise."""
    centres = np.random.default_rng(CENTRES_SEED).standard_normal((CENTRES, DIMS)).astype(np.float32)
    rng = np.random.default_rng(seed)
    out = np.empty((n, DIMS), dtype=np.float32)
    for start in range(0, n, 100_000):
        size = min(100_000, n - start)
        block = centres[rng.integers(0, CENTRES, size)] + rng.normal(0, NOISE, (size, DIMS)).astype(
            np.float32
        )
        out[start : start + size] = block / np.linalg.norm(block, axis=1, keepdims=True)
    return out


def _literal(v: npt.NDArray[np.float32]) -> str:
    return "[" + ",".join(f"{x:.6g}" for x in v.tolist()) + "]"


def _exact(
    vectors: npt.NDArray[np.float32], queries: npt.NDArray[np.float32], mask: Any = None
) -> list[set[int]]:
    truth = []
    ids = np.arange(len(vectors)) if mask is None else np.flatnonzero(mask)
    pool = vectors[ids]
    for q in queries:
        scores = pool @ q
        top = np.argpartition(-scores, _K)[:_K]
        truth.append({int(ids[i]) for i in top})
    return truth


def _load(conn: psycopg.Connection[Any], vectors: npt.NDArray[np.float32]) -> float:
    started = time.perf_counter()
    conn.execute(f"DROP TABLE IF EXISTS {_TABLE}")
    conn.execute(
        f"CREATE UNLOGGED TABLE {_TABLE} (id integer PRIMARY KEY, grp text[], embedding halfvec({DIMS}))"
    )
    with conn.cursor() as cur, cur.copy(f"COPY {_TABLE} (id, grp, embedding) FROM STDIN") as copy:
        for i, v in enumerate(vectors):
            copy.write_row((i, [f"group:g{i % GROUPS}"], _literal(v)))
    conn.commit()
    return time.perf_counter() - started


def _build(conn: psycopg.Connection[Any], *, m: int, ef_construction: int) -> float:
    started = time.perf_counter()
    conn.execute("SET maintenance_work_mem = '1GB'")
    conn.execute("SET max_parallel_maintenance_workers = 1")
    conn.execute(
        f"CREATE INDEX ON {_TABLE} USING hnsw (embedding halfvec_cosine_ops) "
        f"WITH (m = {m}, ef_construction = {ef_construction})"
    )
    conn.execute(f"CREATE INDEX ON {_TABLE} USING gin (grp)")
    conn.execute(f"ANALYZE {_TABLE}")
    conn.commit()
    return time.perf_counter() - started


def _query_sql(filtered: bool, *, exact: bool = False) -> str:
    where = "WHERE grp && %(g)s::text[]" if filtered else ""
    distance = f"embedding <=> %(q)s::halfvec({DIMS})"
    # `+ 0` makes the order an expression no index matches: the exact scan whatever the planner thinks
    # (planner switches alone let a 1,000,000-row run use the index).
    order = f"({distance}) + 0" if exact else distance
    return f"SELECT id FROM {_TABLE} {where} ORDER BY {order} LIMIT {_K}"  # noqa: S608


def _session(conn: psycopg.Connection[Any], *, ef_search: int) -> None:
    conn.execute(f"SET hnsw.ef_search = {int(ef_search)}")
    conn.execute("SET hnsw.iterative_scan = relaxed_order")
    conn.execute("SET enable_bitmapscan = off")  # the filtered query through HNSW, not the GIN index


def _measure(
    conn: psycopg.Connection[Any],
    queries: npt.NDArray[np.float32],
    truth: Sequence[set[int]],
    *,
    filtered: bool,
    exact: bool = False,
) -> tuple[list[float], float, float]:
    latencies, recalls, full = [], [], 0
    sql = _query_sql(filtered, exact=exact)
    for q, expected in zip(queries, truth, strict=True):
        started = time.perf_counter()
        rows = conn.execute(sql, {"q": _literal(q), "g": ["group:g0"]}).fetchall()
        latencies.append((time.perf_counter() - started) * 1000)
        got = {r[0] for r in rows}
        full += len(got) == _K
        recalls.append(len(got & expected) / _K)
    return latencies, float(np.mean(recalls)), full / len(queries)


def _throughput(
    url: str, queries: npt.NDArray[np.float32], *, clients: int, ef_search: int, seconds: float
) -> float:
    counts = [0] * clients
    deadline = time.perf_counter() + seconds

    def worker(index: int) -> None:
        with psycopg.connect(url) as conn:
            _session(conn, ef_search=ef_search)
            sql = _query_sql(False)
            i = index
            while time.perf_counter() < deadline:
                conn.execute(sql, {"q": _literal(queries[i % len(queries)])}).fetchall()
                counts[index] += 1
                i += clients

    threads = [threading.Thread(target=worker, args=(i,)) for i in range(clients)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    return sum(counts) / seconds


def run(
    *,
    vectors: int = 100_000,
    queries: int = 200,
    ef_search: Sequence[int] = (40, 100, 200),
    m: int = 16,
    ef_construction: int = 64,
    clients: int = 4,
    seconds: float = 10.0,
    exact_queries: int = 20,
    throughput_ef: int | None = None,
) -> None:
    secret = get_settings().database_url
    if secret is None:
        raise SystemExit("set PLINTH_DATABASE_URL (or run `plinth up`) to benchmark retrieval")
    url = secret.get_secret_value()
    data = generate(vectors, seed=20261202)
    probe = generate(queries, seed=7)
    mask = np.arange(vectors) % GROUPS == 0
    truth, truth_filtered = _exact(data, probe), _exact(data, probe, mask)
    ctx = {
        "vectors": vectors,
        "dims": DIMS,
        "type": "halfvec",
        "m": m,
        "ef_construction": ef_construction,
        **machine(),
    }
    with psycopg.connect(url) as conn:
        emit(
            bench="retrieval",
            variant="plinth",
            metric="bulk_load_s",
            value=_load(conn, data),
            unit="s",
            **ctx,
        )
        emit(
            bench="retrieval",
            variant="plinth",
            metric="index_build_s",
            value=_build(conn, m=m, ef_construction=ef_construction),
            unit="s",
            **ctx,
        )
        for ef in ef_search:
            _session(conn, ef_search=ef)
            for filtered, label in ((False, "unfiltered"), (True, "filtered_1pct")):
                lat, recall, full = _measure(
                    conn, probe, truth_filtered if filtered else truth, filtered=filtered
                )
                fields = {**ctx, "ef_search": ef, "filter": label, "queries": len(probe)}
                emit(
                    bench="retrieval",
                    variant="plinth",
                    metric="p50_ms",
                    value=percentile(lat, 50),
                    unit="ms",
                    **fields,
                )
                emit(
                    bench="retrieval",
                    variant="plinth",
                    metric="p95_ms",
                    value=percentile(lat, 95),
                    unit="ms",
                    **fields,
                )
                emit(
                    bench="retrieval",
                    variant="plinth",
                    metric="recall@10",
                    value=recall,
                    unit="ratio",
                    **fields,
                )
                emit(
                    bench="retrieval",
                    variant="plinth",
                    metric="full_k_ratio",
                    value=full,
                    unit="ratio",
                    **fields,
                )
        conn.commit()
        ef = throughput_ef or ef_search[-1]
        qps = _throughput(url, probe, clients=clients, ef_search=ef, seconds=seconds)
        fields = {**ctx, "ef_search": ef, "filter": "unfiltered", "clients": clients, "seconds": seconds}
        emit(bench="retrieval", variant="plinth", metric="queries_per_s", value=qps, unit="1/s", **fields)
        n = min(exact_queries, len(probe))
        lat, recall, _ = _measure(conn, probe[:n], truth[:n], filtered=False, exact=True)
        fields = {**ctx, "filter": "unfiltered", "queries": n}
        emit(
            bench="retrieval",
            variant="baseline-exact-scan",
            metric="p50_ms",
            value=percentile(lat, 50),
            unit="ms",
            **fields,
        )
        emit(
            bench="retrieval",
            variant="baseline-exact-scan",
            metric="p95_ms",
            value=percentile(lat, 95),
            unit="ms",
            **fields,
        )
        emit(  # ~1.0 (halfvec rounding aside): shows the baseline really is the exact scan
            bench="retrieval",
            variant="baseline-exact-scan",
            metric="recall@10",
            value=recall,
            unit="ratio",
            **fields,
        )
        conn.commit()
        conn.execute(f"DROP TABLE {_TABLE}")
        conn.commit()
