"""The chunk table: retrievable text with its embedding, full-text vector and access list.

Title, source name and version are copied from the document version, so retrieval reads one table."""

from __future__ import annotations

import uuid
from collections.abc import Sequence

from pgvector.sqlalchemy import Vector
from sqlalchemy import BigInteger, Boolean, Computed, ForeignKey, Identity, Index, Integer, Text, insert
from sqlalchemy.dialects.postgresql import ARRAY, TSVECTOR
from sqlalchemy.orm import Mapped, Session, mapped_column

from app.core.db import Base
from rag.chunking import ChunkDraft
from rag.embeddings import Vector as EmbeddingArray

EMBEDDING_DIMENSIONS = 384


class Chunk(Base):
    __tablename__ = "chunks"

    id: Mapped[int] = mapped_column(BigInteger, Identity(), primary_key=True)
    document_id: Mapped[uuid.UUID] = mapped_column(ForeignKey("documents.id", ondelete="CASCADE"))
    document_version_id: Mapped[uuid.UUID] = mapped_column(
        ForeignKey("document_versions.id", ondelete="CASCADE"), index=True
    )
    version_no: Mapped[int] = mapped_column(Integer)
    ordinal: Mapped[int] = mapped_column(Integer)
    title: Mapped[str] = mapped_column(Text)
    source: Mapped[str] = mapped_column(Text)
    heading: Mapped[str | None] = mapped_column(Text)
    page: Mapped[int | None] = mapped_column(Integer)
    text: Mapped[str] = mapped_column(Text)
    token_count: Mapped[int] = mapped_column(Integer)
    embedding: Mapped[list[float]] = mapped_column(Vector(EMBEDDING_DIMENSIONS))
    tsv: Mapped[str] = mapped_column(
        TSVECTOR,
        Computed("to_tsvector('english', coalesce(heading, '') || ' ' || text)", persisted=True),
    )
    # Grants that may read this chunk, e.g. {"org"}, {"group:finance", "user:<uuid>"}.
    access: Mapped[list[str]] = mapped_column(ARRAY(Text))
    active: Mapped[bool] = mapped_column(Boolean, default=True)

    __table_args__ = (
        Index("ix_chunks_document_id", "document_id"),
        Index(
            "ix_chunks_embedding_hnsw",
            "embedding",
            postgresql_using="hnsw",
            postgresql_with={"m": 16, "ef_construction": 64},
            postgresql_ops={"embedding": "vector_cosine_ops"},
        ),
        Index("ix_chunks_tsv", "tsv", postgresql_using="gin"),
        Index("ix_chunks_access", "access", postgresql_using="gin"),
    )


def add_chunks(
    session: Session,
    *,
    document_id: uuid.UUID,
    document_version_id: uuid.UUID,
    version_no: int,
    title: str,
    source: str,
    access: Sequence[str],
    drafts: Sequence[ChunkDraft],
    embeddings: EmbeddingArray,
) -> int:
    """Bulk-insert one version's chunks (one executemany round trip per call)."""
    if not drafts:
        return 0
    rows = [
        {
            "document_id": document_id,
            "document_version_id": document_version_id,
            "version_no": version_no,
            "ordinal": draft.ordinal,
            "title": title,
            "source": source,
            "heading": draft.heading,
            "page": draft.page,
            "text": draft.text,
            "token_count": draft.token_count,
            "embedding": vector,
            "access": list(access),
            "active": True,
        }
        for draft, vector in zip(drafts, embeddings, strict=True)
    ]
    session.execute(insert(Chunk), rows)
    return len(rows)


def retire_document_chunks(session: Session, *, document_id: uuid.UUID) -> None:
    """Take every chunk of a document out of retrieval (rows stay for history)."""
    session.query(Chunk).filter(Chunk.document_id == document_id, Chunk.active.is_(True)).update(
        {Chunk.active: False}, synchronize_session=False
    )
