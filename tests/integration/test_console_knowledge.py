"""The Knowledge page over HTTP with a console session: an upload goes through the same intake as `plinth
ingest` (a refused file is shown with its reason and listed), and re-ingesting, access lists, review dates
and deletion go through the knowledge domain, each audited with the admin as the actor."""

from __future__ import annotations

import re
from pathlib import Path

from sqlalchemy import select

from app.core.db import session_scope
from app.domains.knowledge.models import DocumentVersion
from audit.models import AuditEvent
from rag.store import Chunk
from tests.integration.console_client import signed_in

LEAVE = Path("qa") / "handbook-18F" / "pages" / "travel-and-leave" / "leave.md"
ENCRYPTED = Path("docs") / "pypdf-samples__libreoffice-writer-password.pdf"


def _events(event_type: str) -> list[AuditEvent]:
    with session_scope() as session:
        return list(session.scalars(select(AuditEvent).where(AuditEvent.event_type == event_type)))


def test_upload_show_reingest_access_review_and_delete(database_url: str, shared_data: Path) -> None:
    admin, csrf, person = signed_in("ada@example.com", ["admin"])
    with (shared_data / LEAVE).open("rb") as upload:
        sent = admin.post(
            "/knowledge/upload",
            data={"csrf_token": csrf, "grants": "org, group:hr", "review_at": "2020-01-01"},
            files={"file": ("leave.md", upload, "text/markdown")},
        )
    assert sent.status_code == 303, sent.text
    target = sent.headers["location"]
    document_id = re.match(r"^/knowledge/documents/([0-9a-f-]{36})\?done=", target).group(1)  # type: ignore[union-attr]

    listing = admin.get("/knowledge").text
    row = listing[listing.index(f'id="doc-{document_id}"') :].split("</tr>", 1)[0]
    for shown in ("leave.md", "upload", "ada@example.com", "group:hr", "org", "2020-01-01", "stale"):
        assert shown in row, shown
    assert 'id="upload"' in listing  # an admin sees the upload form

    page = admin.get(target).text
    assert "Ingested leave.md as" in page
    assert 'id="version-1"' in page

    again = admin.post(f"/knowledge/documents/{document_id}/reingest", data={"csrf_token": csrf})
    assert again.status_code == 303
    assert "version+2" in again.headers["location"] or "version%202" in again.headers["location"]
    with session_scope() as session:
        versions = session.scalars(
            select(DocumentVersion)
            .where(DocumentVersion.document_id == document_id)
            .order_by(DocumentVersion.version_no)
        ).all()
        assert [v.version_no for v in versions] == [1, 2]
        assert versions[0].retired_at is not None
        assert versions[0].content_sha256 == versions[1].content_sha256  # the stored original, again
        assert versions[1].submitted_by == person.id

    assert (
        admin.post(
            f"/knowledge/documents/{document_id}/access", data={"csrf_token": csrf, "grants": "org"}
        ).status_code
        == 303
    )
    assert (
        admin.post(
            f"/knowledge/documents/{document_id}/review",
            data={"csrf_token": csrf, "review_at": "", "expires_at": "2099-12-31"},
        ).status_code
        == 303
    )
    detail = admin.get(
        f"/api/v1/knowledge/documents/{document_id}", headers={"Authorization": f"Bearer {person.token}"}
    )
    body = detail.json()
    assert body["access_specs"] == ["org"]
    assert body["stale"] is False
    assert body["expires_at"].startswith("2099-12-31")
    assert [v["version_no"] for v in body["version_rows"]] == [1, 2]

    gone = admin.post(f"/knowledge/documents/{document_id}/delete", data={"csrf_token": csrf})
    assert gone.status_code == 303
    with session_scope() as session:
        assert (
            session.scalars(select(Chunk).where(Chunk.document_id == document_id, Chunk.active)).all() == []
        )
    assert f'id="doc-{document_id}"' not in admin.get("/knowledge").text
    assert f'id="doc-{document_id}"' in admin.get("/knowledge?deleted=true").text

    actor = f"principal:{person.id}"
    for event_type, count in (
        ("document.ingested", 2),
        ("document.access_changed", 1),
        ("document.review_set", 1),
        ("document.deleted", 1),
    ):
        found = [e for e in _events(event_type) if e.subject == f"document:{document_id}"]
        assert len(found) == count, event_type
        assert all(e.actor == actor for e in found)


def test_a_refused_upload_shows_its_reason_and_is_listed(database_url: str, shared_data: Path) -> None:
    admin, csrf, person = signed_in("ada@example.com", ["admin"])
    with (shared_data / ENCRYPTED).open("rb") as upload:
        sent = admin.post(
            "/knowledge/upload",
            data={"csrf_token": csrf},
            files={"file": ("C:\\Users\\ada\\secret.pdf", upload, "application/pdf")},
        )
    assert sent.status_code == 303
    assert sent.headers["location"].startswith("/knowledge?refused=")
    page = admin.get(sent.headers["location"]).text
    alert = page[page.index('id="refused-alert"') :].split("</p>", 1)[0]
    assert "Refused secret.pdf:" in alert
    assert "password" in alert.lower() or "encrypt" in alert.lower()
    refusals = page[page.index('class="refusals"') :].split("</table>", 1)[0]
    assert "secret.pdf" in refusals
    assert "encrypted" in refusals

    # The JSON API takes the same path and says why.
    with (shared_data / ENCRYPTED).open("rb") as upload:
        answer = admin.client.post(
            "/api/v1/knowledge/documents",
            headers={"Authorization": f"Bearer {person.token}"},
            files={"file": ("again.pdf", upload, "application/pdf")},
        )
    assert answer.status_code == 200
    assert answer.json()["status"] == "refused"
    assert answer.json()["reason"] == "encrypted"
    listed = admin.client.get(
        "/api/v1/knowledge/refusals", headers={"Authorization": f"Bearer {person.token}"}
    ).json()
    assert [r["original_name"] for r in listed] == ["again.pdf", "secret.pdf"]
    refused = _events("document.refused")
    assert len(refused) == 2
    assert {e.actor for e in refused} == {f"principal:{person.id}"}


def test_viewers_read_the_knowledge_page_but_change_nothing(database_url: str, shared_data: Path) -> None:
    viewer, csrf, _ = signed_in("vic@example.com", ["viewer"])
    page = viewer.get("/knowledge")
    assert page.status_code == 200
    assert 'id="upload"' not in page.text
    with (shared_data / LEAVE).open("rb") as upload:
        refused = viewer.post(
            "/knowledge/upload",
            data={"csrf_token": csrf},
            files={"file": ("leave.md", upload, "text/markdown")},
        )
    assert refused.status_code == 403
    assert _events("document.ingested") == []
