"""A forward's documents: attachments (archives opened within limits) and forwarded messages as text,
each ingested with the sender's access in its own savepoint, so one refused file does not undo another."""

from __future__ import annotations

import io
import re
import uuid
from dataclasses import dataclass

from sqlalchemy.orm import Session

from app.core.blobs import default_blob_store
from app.core.settings.front_ends import EmailSettings
from app.domains.knowledge import service as knowledge
from app.domains.principals import service as principals
from integrations.email import archives
from integrations.email.parsing import Forwarded, ParsedMail
from integrations.email.rendering import FileOutcome
from rag.errors import IngestRefused

SOURCE_NAME = "email"


@dataclass(frozen=True)
class Candidate:
    name: str
    data: bytes


def _forward_text(item: Forwarded) -> bytes:
    head = [
        f"{label}: {value}"
        for label, value in (("From", item.sender), ("Date", item.date), ("Subject", item.subject))
        if value
    ]
    return ("\n".join(head) + "\n\n" + item.text + "\n").encode()


def _safe_name(name: str) -> str:
    return re.sub(r"[\x00-\x1f/\\]+", "_", name).strip()[:200] or "message"


def candidates(mail: ParsedMail, limits: EmailSettings) -> tuple[list[Candidate], list[FileOutcome]]:
    """The files to ingest, and those refused before ingestion (archive limits, too many files)."""
    found: list[Candidate] = []
    refused: list[FileOutcome] = []
    attachments = list(mail.attachments)
    for number, item in enumerate(mail.forwarded, start=1):
        if item.text.strip():
            found.append(
                Candidate(
                    _safe_name(f"{item.subject or f'forwarded message {number}'}.txt"), _forward_text(item)
                )
            )
        attachments.extend(item.attachments)
    for attachment in attachments:
        if archives.is_zip(attachment.data):
            expanded = archives.expand(attachment.name, attachment.data, limits)
            found.extend(Candidate(_safe_name(name), data) for name, data in expanded.files)
            refused.extend(FileOutcome(r.name, False, r.detail) for r in expanded.refused)
        else:
            found.append(Candidate(_safe_name(attachment.name), attachment.data))
    if len(found) > limits.max_attachments:
        refused.extend(
            FileOutcome(c.name, False, f"more than {limits.max_attachments} files in one message")
            for c in found[limits.max_attachments :]
        )
        found = found[: limits.max_attachments]
    return found, refused


def ingest_all(
    session: Session, *, files: list[Candidate], principal_id: uuid.UUID, sender: str
) -> list[FileOutcome]:
    blobs = default_blob_store()
    access = [principals.user_grant(principal_id)]
    outcomes = []
    for candidate in files:
        try:
            with session.begin_nested():
                outcome = knowledge.ingest(
                    session,
                    blobs=blobs,
                    stream=io.BytesIO(candidate.data),
                    original_name=candidate.name,
                    source_name=SOURCE_NAME,
                    source_key=f"{sender}/{candidate.name}",
                    channel="email",
                    submitted_by=principal_id,
                    access=access,
                )
        except IngestRefused as exc:
            knowledge.record_refusal(
                session, original_name=candidate.name, channel="email", submitted_by=principal_id, error=exc
            )
            outcomes.append(FileOutcome(candidate.name, False, exc.message))
            continue
        detail = (
            f"already known (version {outcome.version_no})"
            if outcome.status == "duplicate"
            else f"added as “{outcome.title}”, version {outcome.version_no}, {outcome.chunks} passages"
        )
        outcomes.append(FileOutcome(candidate.name, True, detail))
    return outcomes
