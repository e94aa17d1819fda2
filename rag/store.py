"""The chunk table: retrievable text with its embedding, full-text vector and access list.

Title, source name and version are copied from the document version, so retrieval reads one table."""

from __future__ import annotations

import uuid
from collections.abc import Sequence

from pgvector.sqlalchemy import Vector
from sqlalchemy import BigInteger, Boolean, Computed, ForeignKey, Identity, Index, Integer, Text
from sqlalchemy.dialects.postgresql import ARRAY, REGCONFIG, TSVECTOR
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
    # The text search configuration of the chunk's language (english, german, … or simple).
    ts_config: Mapped[str] = mapped_column(REGCONFIG, server_default="english")
    tsv: Mapped[str] = mapped_column(
        TSVECTOR,
        Computed("to_tsvector(ts_config, coalesce(heading, '') || ' ' || text)", persisted=True),
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


_COPY_COLUMNS = (
    "document_id",
    "document_version_id",
    "version_no",
    "ordinal",
    "title",
    "source",
    "heading",
    "page",
    "text",
    "token_count",
    "embedding",
    "access",
    "active",
    "ts_config",
)
_COPY_SQL = f"COPY chunks ({', '.join(_COPY_COLUMNS)}) FROM STDIN"


def vector_literal(vector: Sequence[float] | EmbeddingArray) -> str:
    values = vector.tolist() if hasattr(vector, "tolist") else vector
    return "[" + ",".join(f"{x:.7g}" for x in values) + "]"


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
    ts_config: str = "english",
) -> int:
    """Bulk-load one batch of a version's chunks with COPY, in the session's transaction."""
    if not drafts:
        return 0
    session.flush()
    raw = session.connection().connection.driver_connection
    grants = list(access)
    with raw.cursor() as cursor, cursor.copy(_COPY_SQL) as copy:  # type: ignore[union-attr]
        for draft, vector in zip(drafts, embeddings, strict=True):
            copy.write_row(
                (
                    document_id,
                    document_version_id,
                    version_no,
                    draft.ordinal,
                    title,
                    source,
                    draft.heading,
                    draft.page,
                    draft.text,
                    draft.token_count,
                    vector_literal(vector),
                    grants,
                    True,
                    ts_config,
                )
            )
    return len(drafts)


def retire_document_chunks(session: Session, *, document_id: uuid.UUID) -> None:
    """Take every chunk of a document out of retrieval (rows stay for history)."""
    session.query(Chunk).filter(Chunk.document_id == document_id, Chunk.active.is_(True)).update(
        {Chunk.active: False}, synchronize_session=False
    )


def delete_document_chunks(session: Session, *, document_id: uuid.UUID) -> int:
    """Remove a deleted document's chunks at once (its versions and provenance stay)."""
    return session.query(Chunk).filter(Chunk.document_id == document_id).delete(synchronize_session=False)


def set_document_access(session: Session, *, document_id: uuid.UUID, access: Sequence[str]) -> None:
    session.query(Chunk).filter(Chunk.document_id == document_id).update(
        {Chunk.access: list(access)}, synchronize_session=False
    )
