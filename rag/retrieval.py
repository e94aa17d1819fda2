"""Permission-filtered hybrid retrieval over the chunk table: pgvector HNSW (cosine) and PostgreSQL full
text, fused by reciprocal rank fusion.

A chunk is read only when its access list meets every reader's grant set, or meets the shared grants;
the filter is inside each query, so nothing a reader may not see is ever fetched. Iterative index scans
(pgvector 0.8, relaxed order) keep a selective filter returning k rows."""

from __future__ import annotations

import uuid
from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any

from sqlalchemy import text
from sqlalchemy.orm import Session

from rag.embeddings import Vector
from rag.store import vector_literal


@dataclass(frozen=True)
class Passage:
    chunk_id: int
    document_id: uuid.UUID
    document_version_id: uuid.UUID
    version_no: int
    title: str
    source: str
    heading: str | None
    page: int | None
    text: str
    score: float  # cosine similarity, -1..1
    stale: bool = False  # the document is past its review or expiry date


@dataclass(frozen=True)
class Filter:
    """Who reads: every set in `grant_sets` must be met, or `shared` must be."""

    grant_sets: tuple[tuple[str, ...], ...]
    shared: tuple[str, ...] = ()


@dataclass(frozen=True)
class HybridParams:
    k: int
    ef_search: int
    max_scan_tuples: int
    candidates: int
    rrf_k: int
    dense_weight: float
    text_weight: float
    text_configs: tuple[str, ...]
    mode: str = "hybrid"  # or "dense"


_COLUMNS = "id, document_id, document_version_id, version_no, title, source, heading, page, text"


def _access_clause(scope: Filter, params: dict[str, Any]) -> str:
    """SQL for the access filter; never true for an empty scope."""
    every = []
    for i, grants in enumerate(scope.grant_sets):
        params[f"g{i}"] = list(grants)
        every.append(f"access && CAST(:g{i} AS text[])")
    clauses = []
    if every:
        clauses.append("(" + " AND ".join(every) + ")")
    if scope.shared:
        params["shared"] = list(scope.shared)
        clauses.append("access && CAST(:shared AS text[])")
    return "(" + " OR ".join(clauses) + ")" if clauses else "false"


def _prepare(session: Session, p: HybridParams) -> None:
    for name, value in (
        ("hnsw.ef_search", p.ef_search),
        ("hnsw.iterative_scan", "relaxed_order"),
        ("hnsw.max_scan_tuples", p.max_scan_tuples),
    ):
        session.execute(text("SELECT set_config(:n, :v, true)"), {"n": name, "v": str(value)})


def dense(session: Session, *, query: Vector, scope: Filter, k: int, p: HybridParams) -> list[Passage]:
    params: dict[str, Any] = {"query": vector_literal(query), "k": k}
    where = _access_clause(scope, params)
    _prepare(session, p)
    # The CTE is materialised so the planner keeps the HNSW scan; relaxed order is re-sorted outside.
    sql = text(
        f"""
        WITH hits AS MATERIALIZED (
            SELECT {_COLUMNS}, embedding <=> CAST(:query AS vector) AS distance
            FROM chunks WHERE active AND {where}
            ORDER BY embedding <=> CAST(:query AS vector) LIMIT :k
        )
        SELECT {_COLUMNS}, 1 - distance FROM hits ORDER BY distance
        """  # noqa: S608 - only bind-parameter names are interpolated
    )
    return [Passage(*row) for row in session.execute(sql, params).all()]


def full_text(
    session: Session, *, question: str, query: Vector, scope: Filter, k: int, p: HybridParams
) -> list[Passage]:
    """Chunks matching any of the question's words (stemmed in each configured language), best
    `ts_rank_cd` first; the score is still their cosine similarity to the query."""
    params: dict[str, Any] = {"query": vector_literal(query), "k": k, "q": question}
    where = _access_clause(scope, params)
    parts = []
    for i, config in enumerate(p.text_configs):
        params[f"cfg{i}"] = config
        parts.append(f"replace(plainto_tsquery(CAST(:cfg{i} AS regconfig), :q)::text, '&', '|')")
    tsquery = " || ".join(f"CAST({part} AS tsquery)" for part in parts) or "CAST('' AS tsquery)"
    sql = text(
        f"""
        WITH q AS (SELECT {tsquery} AS query)
        SELECT {_COLUMNS}, 1 - (embedding <=> CAST(:query AS vector))
        FROM chunks, q
        WHERE numnode(q.query) > 0 AND active AND tsv @@ q.query AND {where}
        ORDER BY ts_rank_cd(tsv, q.query, 1) DESC, id
        LIMIT :k
        """  # noqa: S608 - only bind-parameter names are interpolated
    )
    return [Passage(*row) for row in session.execute(sql, params).all()]


def rrf(rankings: Sequence[tuple[float, Sequence[Passage]]], *, rrf_k: int, k: int) -> list[Passage]:
    """Reciprocal rank fusion: each list adds weight / (rrf_k + rank) to the passages it holds."""
    scores: dict[int, float] = {}
    by_id: dict[int, Passage] = {}
    for weight, ranking in rankings:
        for rank, passage in enumerate(ranking, start=1):
            scores[passage.chunk_id] = scores.get(passage.chunk_id, 0.0) + weight / (rrf_k + rank)
            by_id.setdefault(passage.chunk_id, passage)
    ordered = sorted(scores, key=lambda chunk_id: (-scores[chunk_id], chunk_id))
    return [by_id[chunk_id] for chunk_id in ordered[:k]]


def search(
    session: Session, *, question: str, query: Vector, scope: Filter, p: HybridParams
) -> list[Passage]:
    """The k chunks best for the question that the scope may read, best first."""
    if p.mode == "dense":
        return dense(session, query=query, scope=scope, k=p.k, p=p)
    pool = max(p.candidates, p.k)
    dense_hits = dense(session, query=query, scope=scope, k=pool, p=p)
    text_hits = full_text(session, question=question, query=query, scope=scope, k=pool, p=p)
    return rrf([(p.dense_weight, dense_hits), (p.text_weight, text_hits)], rrf_k=p.rrf_k, k=p.k)
