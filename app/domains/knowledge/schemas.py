from __future__ import annotations

import uuid
from dataclasses import dataclass
from datetime import datetime
from typing import Literal

from pydantic import BaseModel


class IngestOutcome(BaseModel):
    status: Literal["ingested", "duplicate"]
    document_id: uuid.UUID
    version_no: int
    title: str
    chunks: int
    skipped: list[str] = []  # parts left out, with the reason


@dataclass(frozen=True)
class ReadScope:
    """Who is reading: a chunk is visible iff its access list meets every reader's grant set, or meets
    `shared_grants`. A single asker is one reader; an empty scope sees nothing."""

    grant_sets: tuple[tuple[str, ...], ...]
    shared_grants: tuple[str, ...] = ()


class VersionInfo(BaseModel):
    version_no: int
    content_sha256: str
    size_bytes: int
    original_name: str
    media_type: str
    parser: str
    parser_version: str
    page_count: int | None
    chunk_count: int
    channel: str
    submitted_by: uuid.UUID | None
    received_at: datetime
    retired_at: datetime | None
    skipped_parts: list[str]


class DocumentInfo(BaseModel):
    id: uuid.UUID
    source: str
    source_key: str
    title: str
    access: list[str]
    current_version_no: int
    updated_at: datetime
    deleted_at: datetime | None
    review_at: datetime | None
    expires_at: datetime | None
    stale: bool
    # The current version's file, front end and submitter.
    original_name: str | None = None
    channel: str | None = None
    submitted_by: uuid.UUID | None = None
    versions: list[VersionInfo] = []


class SourceInfo(BaseModel):
    name: str
    channel: str
    created_at: datetime
    documents: int


class RefusalInfo(BaseModel):
    id: uuid.UUID
    received_at: datetime
    channel: str
    original_name: str
    content_sha256: str | None
    reason: str
    message: str
