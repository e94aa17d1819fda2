"""Ingest one file: store the original bytes, pass the gates, parse, chunk, embed and COPY-load one
version — streamed in batches, all in the caller's transaction, so a file refused half-way leaves
nothing behind but its refusal record and its original bytes."""

from __future__ import annotations

import itertools
import uuid
from collections.abc import Iterator
from datetime import datetime
from typing import BinaryIO

from sqlalchemy import select, update
from sqlalchemy.orm import Session

from app.core.blobs import BlobStore, StoredBlob
from app.core.db import utcnow
from app.core.errors import Conflict, NotFound
from app.core.settings import get_settings
from app.domains.knowledge import corpus
from app.domains.knowledge.models import Document, DocumentVersion, KnowledgeSource
from app.domains.knowledge.schemas import IngestOutcome
from app.domains.principals import service as principals
from audit import events
from audit import store as audit_store
from rag import chunking, gates, loaders, store
from rag.embeddings import Embedder, get_embedder
from rag.errors import IngestRefused
from rag.language import text_search_config


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
    review_at: datetime | None = None,
    expires_at: datetime | None = None,
) -> IngestOutcome:
    """Ingest one file as a new version of the document (source, key). Raises IngestRefused carrying the
    stored bytes' hash, for the refusal record."""
    blob = blobs.put_stream(stream)
    try:
        return _ingest_blob(
            session,
            blobs=blobs,
            blob=blob,
            original_name=original_name,
            source_name=source_name,
            source_key=source_key,
            channel=channel,
            submitted_by=submitted_by,
            access=sorted(set(access)),
            dates=(review_at, expires_at),
        )
    except IngestRefused as exc:
        exc.sha256, exc.size_bytes = blob.key, blob.size
        raise


def reingest(
    session: Session, *, blobs: BlobStore, document_id: uuid.UUID, by: uuid.UUID | None
) -> IngestOutcome:
    """Parse, chunk and embed the current version's stored original again, as the next version (with
    the document's access list and dates): for a new parser, chunker or embedding model."""
    document = session.get(Document, document_id, with_for_update=True)
    if document is None or document.current_version_no == 0:
        raise NotFound(f"no document {document_id}")
    if document.deleted_at is not None:
        raise Conflict(f"{document.title!r} is deleted: upload it again to bring it back")
    current = session.scalar(
        select(DocumentVersion).where(
            DocumentVersion.document_id == document.id,
            DocumentVersion.version_no == document.current_version_no,
        )
    )
    source = session.get(KnowledgeSource, document.source_id)
    assert current is not None
    assert source is not None
    if not blobs.exists(current.content_sha256):
        raise NotFound(f"the original of {document.title!r} is no longer in the blob store")
    return _ingest_blob(
        session,
        blobs=blobs,
        blob=StoredBlob(key=current.content_sha256, size=current.size_bytes),
        original_name=current.original_name,
        source_name=source.name,
        source_key=document.source_key,
        channel=current.channel,
        submitted_by=by,
        access=sorted(document.access),
        dates=(document.review_at, document.expires_at),
        reprocess=True,
    )


def _duplicate_of(
    session: Session, *, document: Document | None, sha256: str, access: list[str]
) -> tuple[Document, DocumentVersion] | None:
    """The live version with these exact bytes: the document's own current one, or another document's
    with the same access list (a different list is a deliberate second copy, and must not leak)."""
    query = (
        select(Document, DocumentVersion)
        .join(DocumentVersion, DocumentVersion.document_id == Document.id)
        .where(
            Document.deleted_at.is_(None),
            DocumentVersion.version_no == Document.current_version_no,
            DocumentVersion.content_sha256 == sha256,
        )
    )
    if document is not None:
        own = session.execute(query.where(Document.id == document.id)).first()
        if own is not None:
            return own[0], own[1]
    other = session.execute(query.where(Document.access == access).limit(1)).first()
    return (other[0], other[1]) if other is not None else None


def _ingest_blob(
    session: Session,
    *,
    blobs: BlobStore,
    blob: StoredBlob,
    original_name: str,
    source_name: str,
    source_key: str,
    channel: str,
    submitted_by: uuid.UUID | None,
    access: list[str],
    dates: tuple[datetime | None, datetime | None],
    reprocess: bool = False,
) -> IngestOutcome:
    settings = get_settings()
    gate_limits = gates.GateLimits(
        max_file_bytes=settings.limits.max_file_bytes,
        max_garbled_ratio=settings.knowledge.max_garbled_ratio,
    )
    gates.check_size(blob.size, gate_limits)
    source = ensure_source(session, name=source_name, channel=channel)
    document = session.scalar(
        select(Document)
        .where(Document.source_id == source.id, Document.source_key == source_key)
        .with_for_update()
    )
    duplicate = (
        None if reprocess else _duplicate_of(session, document=document, sha256=blob.key, access=access)
    )
    if duplicate is not None:
        return _record_duplicate(session, *duplicate, name=original_name, channel=channel, by=submitted_by)

    limits = loaders.Limits(
        max_pages=settings.limits.max_pages, max_depth=settings.knowledge.max_attachment_depth
    )
    with blobs.open(blob.key) as original:
        parsed = loaders.parse(original, name=original_name, limits=limits)
        now = utcnow()
        document = _new_version_of(
            session, document, source=source, key=source_key, title=parsed.title, now=now
        )
        document.access = access
        document.review_at, document.expires_at = dates
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
            chunk_count=0,
            channel=channel,
            submitted_by=submitted_by,
            received_at=now,
            skipped_parts=[],
        )
        session.add(version)
        document.current_version_no = version.version_no
        session.flush()
        embedder = get_embedder()
        count, last_page = 0, None
        sections = gates.gated(parsed.sections, gate_limits)
        markdown = parsed.media_type == "text/markdown"
        for batch, config in _batches(sections, embedder, markdown=markdown):
            store.add_chunks(
                session,
                document_id=document.id,
                document_version_id=version.id,
                version_no=version.version_no,
                title=parsed.title,
                source=original_name,
                access=access,
                drafts=batch,
                embeddings=embedder.embed([d.text for d in batch]),
                ts_config=config,
            )
            count += len(batch)
            last_page = max((d.page for d in batch if d.page), default=last_page)
    if count == 0:
        raise IngestRefused("no_text", gates.NO_TEXT_MESSAGE)
    version.chunk_count = count
    version.page_count = parsed.page_count or last_page
    version.skipped_parts = list(parsed.skipped)
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
            "chunks": count,
            "access": access,
            "skipped": list(parsed.skipped),
        },
    )
    session.flush()
    return IngestOutcome(
        status="ingested",
        document_id=document.id,
        version_no=version.version_no,
        title=parsed.title,
        chunks=count,
        skipped=list(parsed.skipped),
    )


def _new_version_of(
    session: Session,
    document: Document | None,
    *,
    source: KnowledgeSource,
    key: str,
    title: str,
    now: datetime,
) -> Document:
    """The document to add a version to, its earlier versions retired from retrieval (rows kept)."""
    if document is None:
        document = Document(source_id=source.id, source_key=key, title=title, access=[])
        session.add(document)
        session.flush()
    else:
        store.retire_document_chunks(session, document_id=document.id)
        session.execute(
            update(DocumentVersion)
            .where(DocumentVersion.document_id == document.id, DocumentVersion.retired_at.is_(None))
            .values(retired_at=now)
        )
        document.title, document.deleted_at = title, None
    document.updated_at = now
    return document


def _batches(
    sections: Iterator[loaders.Section], embedder: Embedder, *, markdown: bool
) -> Iterator[tuple[list[chunking.ChunkDraft], str]]:
    """Chunk drafts in batches of the configured size, with the text search configuration of the
    document's language (decided on its first batch)."""
    settings = get_settings()
    drafts = chunking.chunk_sections(
        sections,
        markdown=markdown,
        tokenize=embedder.tokenize,
        chunk_tokens=settings.chunking.chunk_tokens,
        overlap_tokens=settings.chunking.overlap_tokens,
    )
    config: str | None = None
    while batch := list(itertools.islice(drafts, settings.knowledge.embed_batch_chunks)):
        if config is None:
            config = text_search_config(" ".join(d.text for d in batch))
        yield batch, config


def _record_duplicate(
    session: Session,
    document: Document,
    version: DocumentVersion,
    *,
    name: str,
    channel: str,
    by: uuid.UUID | None,
) -> IngestOutcome:
    audit_store.append(
        session,
        event_type=events.DOCUMENT_DUPLICATE,
        actor=principals.actor(by),
        channel=channel,
        subject=f"document:{document.id}",
        payload={"name": name, "sha256": version.content_sha256, "version_no": version.version_no},
    )
    return IngestOutcome(
        status="duplicate",
        document_id=document.id,
        version_no=version.version_no,
        title=document.title,
        chunks=version.chunk_count,
    )
