from __future__ import annotations

from pathlib import Path

import pytest
from sqlalchemy import func, select

from app.core.db import session_scope
from app.domains.knowledge import service as knowledge
from app.domains.knowledge.models import Document, DocumentVersion
from audit.models import AuditEvent
from rag.errors import IngestRefused
from rag.store import Chunk
from tests.integration.conftest import ingest_file


def _count(model: type, *where: object) -> int:
    with session_scope() as session:
        return int(session.scalar(select(func.count()).select_from(model).where(*where)) or 0)


def test_markdown_is_chunked_embedded_and_audited(database_url: str, shared_data: Path) -> None:
    path = shared_data / "qa" / "handbook-18F" / "pages" / "travel-and-leave" / "leave.md"
    outcome = ingest_file(path)
    assert outcome.status == "ingested"
    assert outcome.version_no == 1
    assert outcome.chunks > 10
    with session_scope() as session:
        chunks = session.scalars(select(Chunk).where(Chunk.document_id == outcome.document_id)).all()
        version = session.scalar(
            select(DocumentVersion).where(DocumentVersion.document_id == outcome.document_id)
        )
        events = session.scalars(select(AuditEvent).where(AuditEvent.event_type == "document.ingested")).all()
    assert len(chunks) == outcome.chunks
    assert all(len(c.embedding) == 384 and c.active for c in chunks)
    assert any(c.heading and "Annual leave" in c.heading for c in chunks)
    assert version is not None
    assert version.parser == "charset-normalizer"
    assert version.media_type == "text/markdown"
    assert len(version.content_sha256) == 64
    assert [e.payload["chunks"] for e in events] == [outcome.chunks]


def test_pdf_chunks_point_to_their_pages(database_url: str, shared_data: Path) -> None:
    outcome = ingest_file(shared_data / "docs" / "unstructured__layout-parser-paper-fast.pdf")
    with session_scope() as session:
        pages = set(session.scalars(select(Chunk.page).where(Chunk.document_id == outcome.document_id)))
    assert pages == {1, 2}


def test_same_content_again_is_a_linked_duplicate(database_url: str, shared_data: Path) -> None:
    path = shared_data / "docs" / "unstructured__codeblock.md"
    first = ingest_file(path)
    again = ingest_file(path)
    assert again.status == "duplicate"
    assert again.document_id == first.document_id
    assert again.version_no == 1
    assert _count(Chunk) == first.chunks


def test_corpus_version_changes_with_each_ingested_version_only(database_url: str, tmp_path: Path) -> None:
    def version() -> int:
        with session_scope() as session:
            return knowledge.corpus_version(session)

    path = tmp_path / "policy.md"
    path.write_text("# Policy\n\nBadges are renewed every year.\n")
    start = version()
    ingest_file(path)
    after_first = version()
    ingest_file(path)  # unchanged: what retrieval sees is the same
    assert after_first == start + 1
    assert version() == after_first


def test_changed_content_is_a_new_version_and_retires_old_chunks(database_url: str, tmp_path: Path) -> None:
    path = tmp_path / "policy.md"
    path.write_text("# Policy\n\nLaptops are replaced every three years.\n")
    first = ingest_file(path)
    path.write_text("# Policy\n\nLaptops are replaced every four years.\n")
    second = ingest_file(path)
    assert (second.document_id, second.version_no) == (first.document_id, 2)
    with session_scope() as session:
        active = session.scalars(select(Chunk.text).where(Chunk.active)).all()
        versions = session.scalars(select(DocumentVersion).order_by(DocumentVersion.version_no)).all()
    assert active == ["# Policy\n\nLaptops are replaced every four years."]
    assert versions[0].retired_at is not None
    assert versions[1].retired_at is None
    assert _count(Chunk) == 2  # history kept


@pytest.mark.parametrize(
    ("name", "reason"),
    [
        ("pypdf-samples__libreoffice-writer-password.pdf", "encrypted"),
        ("unstructured__DA-1p.png", "unsupported_type"),
        ("tika__testOCR.pdf", "no_text"),
    ],
)
def test_refused_files_leave_nothing_behind(
    database_url: str, shared_data: Path, name: str, reason: str
) -> None:
    with pytest.raises(IngestRefused) as caught:
        ingest_file(shared_data / "docs" / name)
    assert caught.value.reason == reason
    assert _count(Document) == 0
    assert _count(DocumentVersion) == 0
    assert _count(Chunk) == 0
    assert _count(AuditEvent) == 0  # the refusal itself is recorded by the caller, in its own transaction
