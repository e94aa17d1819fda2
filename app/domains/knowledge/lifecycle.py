"""Documents after ingestion: listing, inspection, deletion, access lists, review and expiry dates, and
the record of refused files. Every change is audited in the same transaction and bumps the corpus
version, so cached answers never outlive what they rest on."""

from __future__ import annotations

import uuid
from collections.abc import Sequence
from datetime import datetime

from sqlalchemy import and_, func, or_, select
from sqlalchemy.orm import Session

from app.core.db import utcnow
from app.core.errors import NotFound
from app.domains.knowledge import corpus
from app.domains.knowledge.models import Document, DocumentVersion, IngestRefusal, KnowledgeSource
from app.domains.knowledge.schemas import DocumentInfo, RefusalInfo, SourceInfo, VersionInfo
from app.domains.principals import service as principals
from audit import events
from audit import store as audit_store
from rag import store
from rag.errors import IngestRefused

DOCUMENT_ACCESS_CHANGED = "document.access_changed"
DOCUMENT_REVIEW_SET = "document.review_set"


def is_stale(document: Document, *, now: datetime | None = None) -> bool:
    moment = now or utcnow()
    return any(d is not None and d <= moment for d in (document.review_at, document.expires_at))


def stale_document_ids(session: Session, *, document_ids: Sequence[uuid.UUID]) -> set[uuid.UUID]:
    if not document_ids:
        return set()
    now = utcnow()
    rows = session.scalars(
        select(Document.id).where(
            Document.id.in_(list(document_ids)),
            or_(Document.review_at <= now, Document.expires_at <= now),
        )
    )
    return set(rows)


def _info(
    document: Document, source: str, *, versions: bool, current: DocumentVersion | None = None
) -> DocumentInfo:
    if current is None and versions:
        current = next((v for v in document.versions if v.version_no == document.current_version_no), None)
    return DocumentInfo(
        id=document.id,
        source=source,
        source_key=document.source_key,
        title=document.title,
        access=sorted(document.access),
        current_version_no=document.current_version_no,
        updated_at=document.updated_at,
        deleted_at=document.deleted_at,
        review_at=document.review_at,
        expires_at=document.expires_at,
        stale=is_stale(document),
        original_name=current.original_name if current else None,
        channel=current.channel if current else None,
        submitted_by=current.submitted_by if current else None,
        versions=[VersionInfo.model_validate(v, from_attributes=True) for v in document.versions]
        if versions
        else [],
    )


def list_documents(
    session: Session, *, include_deleted: bool = False, limit: int = 500
) -> list[DocumentInfo]:
    """Newest first, each with its current version's file name, front end and submitter."""
    query = (
        select(Document, KnowledgeSource.name, DocumentVersion)
        .join(KnowledgeSource)
        .outerjoin(
            DocumentVersion,
            and_(
                DocumentVersion.document_id == Document.id,
                DocumentVersion.version_no == Document.current_version_no,
            ),
        )
        .order_by(Document.updated_at.desc())
    )
    if not include_deleted:
        query = query.where(Document.deleted_at.is_(None))
    return [
        _info(doc, source, versions=False, current=version)
        for doc, source, version in session.execute(query.limit(limit))
    ]


def list_sources(session: Session) -> list[SourceInfo]:
    """Where documents came from, with how many live documents each holds."""
    live = func.count(Document.id).filter(Document.deleted_at.is_(None))
    rows = session.execute(
        select(KnowledgeSource, live)
        .outerjoin(Document, Document.source_id == KnowledgeSource.id)
        .group_by(KnowledgeSource.id)
        .order_by(KnowledgeSource.name)
    )
    return [SourceInfo(name=s.name, channel=s.channel, created_at=s.created_at, documents=n) for s, n in rows]


def _get(session: Session, document_id: uuid.UUID) -> Document:
    document = session.get(Document, document_id, with_for_update=True)
    if document is None:
        raise NotFound(f"no document {document_id}")
    return document


def show_document(session: Session, *, document_id: uuid.UUID) -> DocumentInfo:
    document = _get(session, document_id)
    source = session.get(KnowledgeSource, document.source_id)
    return _info(document, source.name if source else "", versions=True)


def delete_document(session: Session, *, document_id: uuid.UUID, by: uuid.UUID | None) -> int:
    """Chunks leave retrieval at once; versions and provenance stay for the record."""
    document = _get(session, document_id)
    if document.deleted_at is not None:
        return 0
    removed = store.delete_document_chunks(session, document_id=document.id)
    document.deleted_at = utcnow()
    corpus.bump(session)
    audit_store.append(
        session,
        event_type=events.DOCUMENT_DELETED,
        actor=principals.actor(by),
        subject=f"document:{document.id}",
        payload={"title": document.title, "chunks_removed": removed},
    )
    session.flush()
    return removed


def set_access(session: Session, *, document_id: uuid.UUID, access: list[str], by: uuid.UUID | None) -> None:
    document = _get(session, document_id)
    before, after = sorted(document.access), sorted(set(access))
    document.access = after
    store.set_document_access(session, document_id=document.id, access=after)
    corpus.bump(session)
    audit_store.append(
        session,
        event_type=DOCUMENT_ACCESS_CHANGED,
        actor=principals.actor(by),
        subject=f"document:{document.id}",
        payload={"before": before, "after": after},
    )
    session.flush()


def set_review(
    session: Session,
    *,
    document_id: uuid.UUID,
    review_at: datetime | None,
    expires_at: datetime | None,
    by: uuid.UUID | None,
) -> None:
    document = _get(session, document_id)
    document.review_at, document.expires_at = review_at, expires_at
    corpus.bump(session)
    audit_store.append(
        session,
        event_type=DOCUMENT_REVIEW_SET,
        actor=principals.actor(by),
        subject=f"document:{document.id}",
        payload={
            "review_at": review_at.isoformat() if review_at else None,
            "expires_at": expires_at.isoformat() if expires_at else None,
        },
    )
    session.flush()


def record_refusal(
    session: Session,
    *,
    original_name: str,
    channel: str,
    submitted_by: uuid.UUID | None,
    error: IngestRefused,
    source_name: str | None = None,
    source_key: str | None = None,
) -> uuid.UUID:
    """Keep the refusal (reason, message, the stored bytes' hash) and audit it, in one transaction."""
    refusal = IngestRefusal(
        channel=channel,
        submitted_by=submitted_by,
        original_name=original_name,
        source_name=source_name,
        source_key=source_key,
        content_sha256=error.sha256,
        size_bytes=error.size_bytes,
        reason=error.reason,
        message=error.message,
    )
    session.add(refusal)
    session.flush()
    audit_store.append(
        session,
        event_type=events.DOCUMENT_REFUSED,
        actor=principals.actor(submitted_by),
        channel=channel,
        subject=f"ingest_refusal:{refusal.id}",
        payload={
            "name": original_name,
            "reason": error.reason,
            "message": error.message,
            "sha256": error.sha256,
        },
    )
    return refusal.id


def list_refusals(session: Session, *, limit: int = 200) -> list[RefusalInfo]:
    rows = session.scalars(select(IngestRefusal).order_by(IngestRefusal.received_at.desc()).limit(limit))
    return [RefusalInfo.model_validate(r, from_attributes=True) for r in rows]
