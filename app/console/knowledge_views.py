"""The knowledge base in the console, shared by its page and its JSON API: sources, documents with their
versions, refused files; uploads and re-ingestion go through the same intake as `plinth ingest` (a
refusal is recorded with its reason), and every change through the knowledge domain, which audits it."""

from __future__ import annotations

import re
import uuid
from collections.abc import Callable
from datetime import UTC, datetime
from pathlib import PurePosixPath, PureWindowsPath
from typing import BinaryIO

from pydantic import BaseModel, Field
from sqlalchemy.orm import Session

from app import intake
from app.console.access import Access
from app.core.blobs import default_blob_store
from app.core.db import session_scope
from app.core.errors import InvalidInput, NotFound
from app.domains.knowledge import service as knowledge
from app.domains.knowledge.schemas import DocumentInfo, IngestOutcome, RefusalInfo, SourceInfo, VersionInfo
from app.domains.principals import service as principals

UPLOAD_SOURCE = "upload"


class VersionRow(VersionInfo):
    submitter: str | None


class DocumentRow(DocumentInfo):
    submitter: str | None
    access_specs: list[str]  # the access list as people type it (user:HANDLE)
    version_rows: list[VersionRow] = Field(default_factory=list)


class KnowledgeOverview(BaseModel):
    sources: list[SourceInfo]
    documents: list[DocumentRow]
    refusals: list[RefusalInfo]


class UploadResult(BaseModel):
    status: str  # ingested | duplicate | refused
    outcome: IngestOutcome | None = None
    reason: str | None = None
    message: str | None = None

    def summary(self, name: str) -> str:
        o = self.outcome
        if o is None:
            return f"Refused {name}: {self.message}"
        if o.status == "duplicate":
            return f"Unchanged {name}: already ingested as “{o.title}” version {o.version_no}."
        left_out = f" Left out: {'; '.join(o.skipped)}." if o.skipped else ""
        return f"Ingested {name} as “{o.title}” version {o.version_no} ({o.chunks} chunks).{left_out}"


class _Handles:
    """Principal ids to handles, each looked up once."""

    def __init__(self, session: Session) -> None:
        self.session = session
        self.known: dict[uuid.UUID, str | None] = {}

    def __call__(self, principal_id: uuid.UUID | None) -> str | None:
        if principal_id is None:
            return None
        if principal_id not in self.known:
            try:
                self.known[principal_id] = principals.get(self.session, principal_id=principal_id).handle
            except NotFound:
                self.known[principal_id] = str(principal_id)
        return self.known[principal_id]


def _row(
    session: Session, doc: DocumentInfo, handle: Callable[[uuid.UUID | None], str | None]
) -> DocumentRow:
    return DocumentRow(
        **doc.model_dump(),
        submitter=handle(doc.submitted_by),
        access_specs=sorted(principals.grant_spec(session, g) for g in doc.access),
        version_rows=[VersionRow(**v.model_dump(), submitter=handle(v.submitted_by)) for v in doc.versions],
    )


def overview(access: Access, *, include_deleted: bool = False) -> KnowledgeOverview:
    with session_scope() as session:
        handle = _Handles(session)
        return KnowledgeOverview(
            sources=knowledge.list_sources(session),
            documents=[
                _row(session, d, handle)
                for d in knowledge.list_documents(session, include_deleted=include_deleted)
            ],
            refusals=knowledge.list_refusals(session),
        )


def sources(access: Access) -> list[SourceInfo]:
    with session_scope() as session:
        return knowledge.list_sources(session)


def documents(access: Access, *, include_deleted: bool) -> list[DocumentRow]:
    return overview(access, include_deleted=include_deleted).documents


def refusals(access: Access, *, limit: int = 200) -> list[RefusalInfo]:
    with session_scope() as session:
        return knowledge.list_refusals(session, limit=limit)


def document(access: Access, *, document_id: uuid.UUID) -> DocumentRow:
    with session_scope() as session:
        return _row(session, knowledge.show_document(session, document_id=document_id), _Handles(session))


def specs(text: str) -> list[str]:
    """Access entries typed into one field, separated by commas or spaces."""
    return [s for s in re.split(r"[\s,]+", text) if s]


def parse_date(value: str | None, what: str) -> datetime | None:
    if not value or not value.strip():
        return None
    try:
        moment = datetime.fromisoformat(value.strip())
    except ValueError as exc:
        raise InvalidInput(f"invalid {what} date {value!r}: use YYYY-MM-DD") from exc
    return moment if moment.tzinfo else moment.replace(tzinfo=UTC)


def file_name(raw: str | None) -> str:
    """The file's own name, whatever path a browser sent with it."""
    name = PureWindowsPath(PurePosixPath(raw or "").name).name.strip()
    if not name or "\x00" in name or len(name) > 255:
        raise InvalidInput("the upload has no usable file name")
    return name


def _result(done: intake.Submitted) -> UploadResult:
    if done.outcome is not None:
        return UploadResult(status=done.outcome.status, outcome=done.outcome)
    assert done.refused is not None
    return UploadResult(status="refused", reason=done.refused.reason, message=done.refused.message)


def upload(
    access: Access,
    *,
    name: str,
    stream: BinaryIO,
    grants: list[str],
    review_at: datetime | None,
    expires_at: datetime | None,
) -> UploadResult:
    """A new document (or a new version of the upload with the same file name)."""
    with session_scope() as session:
        resolved = knowledge.resolve_access(session, grants or ["org"])
    return _result(
        intake.submit_document(
            blobs=default_blob_store(),
            opener=lambda: stream,
            original_name=name,
            source_name=UPLOAD_SOURCE,
            source_key=name,
            channel=UPLOAD_SOURCE,
            submitted_by=access.caller.principal_id,
            access=resolved,
            review_at=review_at,
            expires_at=expires_at,
        )
    )


def reingest(access: Access, *, document_id: uuid.UUID) -> UploadResult:
    return _result(
        intake.reingest_document(
            blobs=default_blob_store(), document_id=document_id, by=access.caller.principal_id
        )
    )


def delete(access: Access, *, document_id: uuid.UUID) -> int:
    with session_scope() as session:
        return knowledge.delete_document(session, document_id=document_id, by=access.caller.principal_id)


def set_access(access: Access, *, document_id: uuid.UUID, grants: list[str]) -> DocumentRow:
    with session_scope() as session:
        resolved = knowledge.resolve_access(session, grants)
        knowledge.set_access(session, document_id=document_id, access=resolved, by=access.caller.principal_id)
    return document(access, document_id=document_id)


def set_review(
    access: Access, *, document_id: uuid.UUID, review_at: datetime | None, expires_at: datetime | None
) -> DocumentRow:
    with session_scope() as session:
        knowledge.set_review(
            session,
            document_id=document_id,
            review_at=review_at,
            expires_at=expires_at,
            by=access.caller.principal_id,
        )
    return document(access, document_id=document_id)
