"""Ingest documents: store the original bytes, parse, validate, chunk, embed and index one version —
all in the caller's transaction, so a refused or failed file leaves nothing behind but its refusal."""

from __future__ import annotations

import uuid
from collections.abc import Sequence
from pathlib import Path
from typing import BinaryIO

from sqlalchemy import select, update
from sqlalchemy.orm import Session

from app.core.blobs import BlobStore
from app.core.db import utcnow
from app.core.settings import get_settings
from app.domains.knowledge import corpus
from app.domains.knowledge.models import Document, DocumentVersion, KnowledgeSource
from app.domains.knowledge.schemas import IngestOutcome
from app.domains.principals import service as principals
from audit import events
from audit import store as audit_store
from rag import chunking, loaders, store
from rag.embeddings import get_embedder
from rag.errors import IngestRefused


def ensure_source(session: Session, *, name: str, channel: str) -> KnowledgeSource:
    source = session.scalar(select(KnowledgeSource).where(KnowledgeSource.name == name))
    if source is None:
        source = KnowledgeSource(name=name, channel=channel)
        session.add(source)
        session.flush()
    return source


def ingest(
    session: Session,
    *,
    blobs: BlobStore,
    stream: BinaryIO,
    original_name: str,
    source_name: str,
    source_key: str,
    channel: str,
    submitted_by: uuid.UUID | None,
    access: list[str],
) -> IngestOutcome:
    """Ingest one file as a new version of the document (source, key). Raises IngestRefused."""
    limits = get_settings().limits
    blob = blobs.put_stream(stream)
    if blob.size == 0:
        raise IngestRefused("empty", "the file is empty")
    if blob.size > limits.max_file_bytes:
        raise IngestRefused(
            "too_large", f"{blob.size} bytes is over the limit of {limits.max_file_bytes} bytes"
        )
    source = ensure_source(session, name=source_name, channel=channel)
    document = session.scalar(
        select(Document)
        .where(Document.source_id == source.id, Document.source_key == source_key)
        .with_for_update()
    )
    if document is not None and document.deleted_at is None:
        current = _current_version(session, document)
        if current is not None and current.content_sha256 == blob.key:
            audit_store.append(
                session,
                event_type=events.DOCUMENT_DUPLICATE,
                actor=principals.actor(submitted_by),
                channel=channel,
                subject=f"document:{document.id}",
                payload={"name": original_name, "sha256": blob.key, "version_no": current.version_no},
            )
            return IngestOutcome(
                status="duplicate",
                document_id=document.id,
                version_no=current.version_no,
                title=document.title,
                chunks=current.chunk_count,
            )

    with blobs.open(blob.key) as original:
        parsed = loaders.parse(original, name=original_name, max_pages=limits.max_pages)
    embedder = get_embedder()
    chunk_settings = get_settings().chunking
    drafts = list(
        chunking.chunk_sections(
            parsed.sections,
            markdown=parsed.media_type == "text/markdown",
            tokenize=embedder.tokenize,
            chunk_tokens=chunk_settings.chunk_tokens,
            overlap_tokens=chunk_settings.overlap_tokens,
        )
    )
    if not drafts:
        raise IngestRefused(
            "no_text", "the file has no extractable text (scanned images need OCR, which is not enabled)"
        )

    now = utcnow()
    if document is None:
        document = Document(source_id=source.id, source_key=source_key, title=parsed.title, access=access)
        session.add(document)
        session.flush()
    else:
        store.retire_document_chunks(session, document_id=document.id)
        session.execute(
            update(DocumentVersion)
            .where(DocumentVersion.document_id == document.id, DocumentVersion.retired_at.is_(None))
            .values(retired_at=now)
        )
        document.title, document.access, document.deleted_at = parsed.title, access, None
    version = DocumentVersion(
        document_id=document.id,
        version_no=document.current_version_no + 1,
        content_sha256=blob.key,
        size_bytes=blob.size,
        original_name=original_name,
        media_type=parsed.media_type,
        parser=parsed.parser,
        parser_version=parsed.parser_version,
        page_count=parsed.page_count,
        chunk_count=len(drafts),
        channel=channel,
        submitted_by=submitted_by,
        received_at=now,
    )
    session.add(version)
    document.current_version_no = version.version_no
    document.updated_at = now
    session.flush()

    vectors = embedder.embed([d.text for d in drafts])
    store.add_chunks(
        session,
        document_id=document.id,
        document_version_id=version.id,
        version_no=version.version_no,
        title=parsed.title,
        source=original_name,
        access=access,
        drafts=drafts,
        embeddings=vectors,
    )
    corpus.bump(session)
    audit_store.append(
        session,
        event_type=events.DOCUMENT_INGESTED,
        actor=principals.actor(submitted_by),
        channel=channel,
        subject=f"document:{document.id}",
        payload={
            "name": original_name,
            "sha256": blob.key,
            "version_no": version.version_no,
            "media_type": parsed.media_type,
            "parser": f"{parsed.parser} {parsed.parser_version}",
            "chunks": len(drafts),
            "access": access,
        },
    )
    return IngestOutcome(
        status="ingested",
        document_id=document.id,
        version_no=version.version_no,
        title=parsed.title,
        chunks=len(drafts),
    )


def record_refusal(
    session: Session,
    *,
    original_name: str,
    channel: str,
    submitted_by: uuid.UUID | None,
    error: IngestRefused,
) -> None:
    audit_store.append(
        session,
        event_type=events.DOCUMENT_REFUSED,
        actor=principals.actor(submitted_by),
        channel=channel,
        payload={"name": original_name, "reason": error.reason, "message": error.message},
    )


def _current_version(session: Session, document: Document) -> DocumentVersion | None:
    return session.scalar(
        select(DocumentVersion).where(
            DocumentVersion.document_id == document.id,
            DocumentVersion.version_no == document.current_version_no,
        )
    )


def access_lists(session: Session, *, document_ids: Sequence[uuid.UUID]) -> list[list[str]]:
    """The access list of each document (what a reader must hold a grant from to see it)."""
    if not document_ids:
        return []
    rows = session.scalars(select(Document.access).where(Document.id.in_(document_ids))).all()
    return [sorted(access) for access in rows]


def mark_corpus_changed(session: Session) -> None:
    """Something other than a document changed what answers may say (e.g. an approved correction)."""
    corpus.bump(session)


def corpus_version(session: Session) -> int:
    """Changes whenever what retrieval can see changes; caches of answers key on it."""
    return corpus.current(session)


def cli_source_key(path: Path) -> str:
    return str(path.resolve())
