"""Passages looked up by chunk id (for answers that rest on chunks chosen earlier, such as an approved
correction's sources), whether or not the chunks are still active."""

from __future__ import annotations

from collections.abc import Sequence

from sqlalchemy import select
from sqlalchemy.orm import Session

from rag.retrieval import Passage
from rag.store import Chunk


def by_chunk_ids(session: Session, *, chunk_ids: Sequence[int], score: float) -> list[Passage]:
    """The passages of these chunks in the order given, each carrying `score`."""
    if not chunk_ids:
        return []
    rows = {c.id: c for c in session.scalars(select(Chunk).where(Chunk.id.in_(list(chunk_ids))))}
    return [
        Passage(
            chunk_id=c.id,
            document_id=c.document_id,
            document_version_id=c.document_version_id,
            version_no=c.version_no,
            title=c.title,
            source=c.source,
            heading=c.heading,
            page=c.page,
            text=c.text,
            score=score,
        )
        for c in (rows.get(i) for i in chunk_ids)
        if c is not None
    ]
