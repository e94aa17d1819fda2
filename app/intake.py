"""Intake for the operator front ends (CLI, HTTP API and console): record a question and queue it in one
transaction (the task is sent once the question is committed); ingest a file, or record why not."""

from __future__ import annotations

import uuid
from collections.abc import Callable
from dataclasses import dataclass
from datetime import datetime
from typing import BinaryIO

from sqlalchemy.orm import Session

from app.core.blobs import BlobStore
from app.core.db import session_scope
from app.core.errors import InvalidInput
from app.domains.conversations import service as conversations
from app.domains.knowledge import service as knowledge
from app.domains.knowledge.schemas import IngestOutcome
from app.domains.principals import service as principals
from rag.errors import IngestRefused
from workers import client


def submit_question(*, question: str, user: str, groups: list[str] | None, channel: str) -> uuid.UUID:
    """The message id of the recorded, queued question. The question, its audit event and its task (in
    the outbox) commit together; if the broker cannot take the task now, the outbox relay sends it. A
    refused question (empty, too long) is audited with what was received, then the error is raised."""
    with session_scope() as session:
        asker = principals.ensure_local(session, handle=user, groups=groups)
        asker_id = asker.id
    try:
        with session_scope() as session:
            receipt = conversations.record_inbound(
                session, channel=channel, principal_id=asker_id, text=question
            )
            client.enqueue_answer(message_id=receipt.message_id, session=session)
    except InvalidInput as exc:
        with session_scope() as session:
            conversations.record_rejected(
                session, channel=channel, principal_id=asker_id, text=question, reason=exc.message
            )
        raise
    return receipt.message_id


@dataclass(frozen=True)
class Submitted:
    """A file's fate: ingested (or unchanged), or refused with the reason (the refusal is recorded)."""

    outcome: IngestOutcome | None = None
    refused: IngestRefused | None = None


def submit_document(
    *,
    blobs: BlobStore,
    opener: Callable[[], BinaryIO],
    original_name: str,
    source_name: str,
    source_key: str,
    channel: str,
    submitted_by: uuid.UUID | None,
    access: list[str],
    review_at: datetime | None = None,
    expires_at: datetime | None = None,
) -> Submitted:
    """Ingest one file in its own transaction; a refusal (or an unreadable file) is recorded and audited
    in another, so it outlives the failed ingestion."""

    def ingest(session: Session) -> IngestOutcome:
        with opener() as stream:
            return knowledge.ingest(
                session,
                blobs=blobs,
                stream=stream,
                original_name=original_name,
                source_name=source_name,
                source_key=source_key,
                channel=channel,
                submitted_by=submitted_by,
                access=access,
                review_at=review_at,
                expires_at=expires_at,
            )

    return _refusals_recorded(
        ingest, name=original_name, channel=channel, by=submitted_by, source=(source_name, source_key)
    )


def reingest_document(*, blobs: BlobStore, document_id: uuid.UUID, by: uuid.UUID | None) -> Submitted:
    """A new version of a document from its stored original; a refusal is recorded like an upload's."""
    with session_scope() as session:
        shown = knowledge.show_document(session, document_id=document_id)
    return _refusals_recorded(
        lambda session: knowledge.reingest(session, blobs=blobs, document_id=document_id, by=by),
        name=shown.original_name or shown.title,
        channel=shown.channel or "upload",
        by=by,
        source=(shown.source, shown.source_key),
    )


def _refusals_recorded(
    ingest: Callable[[Session], IngestOutcome],
    *,
    name: str,
    channel: str,
    by: uuid.UUID | None,
    source: tuple[str, str],
) -> Submitted:
    try:
        with session_scope() as session:
            return Submitted(outcome=ingest(session))
    except (IngestRefused, OSError) as exc:
        error = (
            exc
            if isinstance(exc, IngestRefused)
            else IngestRefused("unreadable", f"cannot read the file ({exc.strerror})")
        )
    with session_scope() as session:
        knowledge.record_refusal(
            session,
            original_name=name,
            channel=channel,
            submitted_by=by,
            error=error,
            source_name=source[0],
            source_key=source[1],
        )
    return Submitted(refused=error)
