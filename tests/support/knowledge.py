"""Documents with synthetic chunks, written straight to the store (no parsing or embedding), for
retrieval tests that need many rows."""

from __future__ import annotations

import uuid

import numpy as np
import numpy.typing as npt
from sqlalchemy.orm import Session

from app.domains.knowledge import service as knowledge
from app.domains.knowledge.models import Document, DocumentVersion
from rag import store
from rag.chunking import ChunkDraft


def add_document(
    session: Session, *, key: str, access: list[str], texts: list[str], vectors: npt.NDArray[np.float32]
) -> uuid.UUID:
    source = knowledge.ensure_source(session, name="synthetic", channel="cli")
    document = Document(source_id=source.id, source_key=key, title=key, access=access, current_version_no=1)
    session.add(document)
    session.flush()
    version = DocumentVersion(
        document_id=document.id,
        version_no=1,
        content_sha256=uuid.uuid4().hex * 2,
        size_bytes=1,
        original_name=f"{key}.txt",
        media_type="text/plain",
        parser="synthetic",
        parser_version="0",
        chunk_count=len(texts),
        channel="cli",
        skipped_parts=[],
    )
    session.add(version)
    session.flush()
    drafts = [
        ChunkDraft(ordinal=i, text=t, heading=None, page=None, token_count=1) for i, t in enumerate(texts)
    ]
    store.add_chunks(
        session,
        document_id=document.id,
        document_version_id=version.id,
        version_no=1,
        title=key,
        source=f"{key}.txt",
        access=access,
        drafts=drafts,
        embeddings=vectors,
    )
    return document.id


def unit_vectors(rng: np.random.Generator, n: int, dims: int = 384) -> npt.NDArray[np.float32]:
    vectors = rng.standard_normal((n, dims)).astype(np.float32)
    return vectors / np.linalg.norm(vectors, axis=1, keepdims=True)
