"""Permission-filtered nearest-neighbour search over the chunk table (pgvector HNSW, cosine).

Only chunks whose access list overlaps the asker's grants are ever read; iterative index scans keep a
filtered query returning k rows."""

from __future__ import annotations

import uuid
from collections.abc import Sequence
from dataclasses import dataclass

from sqlalchemy import text
from sqlalchemy.orm import Session

from rag.embeddings import Vector


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


_DENSE_SQL = text(
    """
    SELECT id, document_id, document_version_id, version_no, title, source, heading, page, text,
           1 - (embedding <=> CAST(:query AS vector)) AS score
    FROM chunks
    WHERE active AND access && CAST(:grants AS text[])
    ORDER BY embedding <=> CAST(:query AS vector)
    LIMIT :k
    """
)


def search(
    session: Session, *, query: Vector, grants: Sequence[str], k: int, ef_search: int
) -> list[Passage]:
    """The k chunks most similar to `query` that `grants` may read, best first."""
    session.execute(text("SELECT set_config('hnsw.ef_search', :ef, true)"), {"ef": str(ef_search)})
    session.execute(text("SELECT set_config('hnsw.iterative_scan', 'relaxed_order', true)"))
    rows = session.execute(
        _DENSE_SQL, {"query": _vector_literal(query), "grants": list(grants), "k": k}
    ).all()
    passages = [Passage(*row) for row in rows]
    # Relaxed ordering may return neighbours slightly out of order.
    return sorted(passages, key=lambda p: p.score, reverse=True)


def _vector_literal(vector: Vector) -> str:
    return "[" + ",".join(f"{x:.7g}" for x in vector.tolist()) + "]"
