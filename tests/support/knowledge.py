"""Documents with synthetic chunks, written straight to the store (no parsing or embedding), for
retrieval tests that need many rows; and small real documents ingested from text."""

from __future__ import annotations

import io
import uuid

import numpy as np
import numpy.typing as npt
from sqlalchemy.orm import Session

from app.core.blobs import FileBlobStore
from app.core.db import session_scope
from app.core.settings import get_settings
from app.domains.knowledge import service as knowledge
from app.domains.knowledge.models import Document, DocumentVersion
from app.domains.principals import service as principals
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


def ingest_text(text: str, *, name: str = "note.md", access: list[str] | None = None) -> uuid.UUID:
    """A real document (stored original, parsed, embedded) from a few words, under its own key."""
    with session_scope() as session:
        outcome = knowledge.ingest(
            session,
            blobs=FileBlobStore(get_settings().blobs_dir),
            stream=io.BytesIO(text.encode()),
            original_name=name,
            source_name="test",
            source_key=f"{name}:{uuid.uuid4()}",
            channel="cli",
            submitted_by=principals.ensure_local(session, handle="librarian").id,
            access=access or ["org"],
        )
        return outcome.document_id
