"""The compliance API over real HTTP: only the compliance role reads events (an admin gets the status,
not the payloads), filters and keyset pages are stable, exports stream, and every query, export and
rejected query is itself an audit event."""

from __future__ import annotations

import csv
import io
import json
from collections.abc import Iterator
from pathlib import Path

import httpx
import pytest
from sqlalchemy import select

from app.core.db import session_scope
from app.domains.principals import service as principals
from audit import events
from audit.models import AuditEvent
from tests.conftest import Env
from tests.integration.test_api import _serve
from tests.support.audit import append_events


def _token(handle: str, roles: list[str]) -> dict[str, str]:
    with session_scope() as session:
        principal = principals.ensure_local(session, handle=handle)
        principals.set_roles(session, principal=principal, roles=roles, by=None)
        _, plain = principals.create_api_token(session, principal=principal, name="t", ttl_days=None, by=None)
    return {"Authorization": f"Bearer {plain}"}


@pytest.fixture
def api(database_url: str, env: Env, tmp_path: Path) -> Iterator[str]:
    append_events(5, event_type="input.received", channel="slack", correlation_id="case-1")
    append_events(3, event_type="output.generated", channel="slack", correlation_id="case-1")
    append_events(4, event_type="input.received", channel="email", correlation_id="case-2")
    server, base = _serve(env, tmp_path / "api.log")
    yield base
    server.stop()


def _recorded(event_type: str) -> list[dict[str, object]]:
    with session_scope() as session:
        rows = session.scalars(
            select(AuditEvent).where(AuditEvent.event_type == event_type).order_by(AuditEvent.seq)
        )
        return [row.payload or {} for row in rows]


def test_an_officer_filters_and_pages_and_each_query_is_audited(api: str) -> None:
    officer = _token("officer@example.com", ["compliance"])
    url = f"{api}/api/v1/audit/events"
    first = httpx.get(url, params={"correlation_id": "case-1", "limit": 3}, headers=officer).json()
    assert [e["seq"] for e in first["events"]] == [1, 2, 3]
    assert first["events"][0]["payload"] == {"i": 0}
    second = httpx.get(
        url, params={"correlation_id": "case-1", "limit": 3, "after": first["next_after"]}, headers=officer
    ).json()
    rest = httpx.get(
        url, params={"correlation_id": "case-1", "limit": 3, "after": second["next_after"]}, headers=officer
    ).json()
    assert [e["seq"] for e in second["events"] + rest["events"]] == [4, 5, 6, 7, 8]
    assert rest["next_after"] is None
    narrowed = httpx.get(
        url, params={"event_type": "input.received", "channel": "email", "q": '"i":3'}, headers=officer
    ).json()
    assert [e["seq"] for e in narrowed["events"]] == [12]
    newest = httpx.get(url, params={"order": "desc", "limit": 2}, headers=officer).json()
    latest = [e["seq"] for e in newest["events"]]
    assert latest[0] > latest[1] > 12  # the queries above are events too
    queried = _recorded(events.AUDIT_QUERIED)
    assert len(queried) == 5
    assert queried[0]["filters"]["correlation_id"] == "case-1"  # type: ignore[index]
    assert queried[0]["returned"] == 3


def test_an_admin_sees_the_status_but_no_events_and_the_schema_documents_the_api(api: str) -> None:
    admin = _token("admin@example.com", ["admin"])
    assert httpx.get(f"{api}/api/v1/audit/events", headers=admin).status_code == 403
    assert httpx.get(f"{api}/api/v1/audit/export", headers=admin).status_code == 403
    status = httpx.get(f"{api}/api/v1/audit/status", headers=admin).json()
    assert status["head_seq"] >= 12
    assert status["pending"] == 0
    denials = _recorded(events.AUTH_PERMISSION_DENIED)
    assert [d["what"] for d in denials] == ["GET /api/v1/audit/events", "GET /api/v1/audit/export"]
    schema = httpx.get(f"{api}/openapi.json").json()
    assert {"/api/v1/audit/events", "/api/v1/audit/export", "/api/v1/audit/status"} <= set(schema["paths"])
    assert "EventPage" in schema["components"]["schemas"]


def test_bad_queries_are_refused_with_the_reason_and_audited(api: str) -> None:
    officer = _token("officer@example.com", ["compliance"])
    url = f"{api}/api/v1/audit/events"
    naive = httpx.get(url, params={"from": "2026-12-01T00:00:00"}, headers=officer)
    assert naive.status_code == 422
    assert "time zone" in naive.json()["error"]["message"]
    empty = httpx.get(
        url, params={"from": "2026-12-02T00:00:00Z", "to": "2026-12-01T00:00:00Z"}, headers=officer
    )
    assert "time range is empty" in empty.json()["error"]["message"]
    assert httpx.get(url, params={"limit": 100_000}, headers=officer).status_code == 422
    assert [r["reason"] for r in _recorded(events.AUDIT_QUERY_REJECTED)] == [
        "from needs a time zone (e.g. 2026-12-01T00:00:00Z)",
        "the time range is empty: `from` must be before `to`",
        "limit above 1000",
    ]


def test_exports_stream_as_json_lines_and_csv(api: str) -> None:
    officer = _token("officer@example.com", ["compliance"])
    with httpx.stream(
        "GET", f"{api}/api/v1/audit/export", params={"event_type": "input.received"}, headers=officer
    ) as response:
        assert response.headers["content-type"].startswith("application/x-ndjson")
        through = int(response.headers["x-plinth-audit-through-seq"])
        lines = [json.loads(line) for line in response.iter_lines() if line]
    assert [e["seq"] for e in lines] == [1, 2, 3, 4, 5, 9, 10, 11, 12]
    assert all(e["seq"] <= through for e in lines)
    table = httpx.get(
        f"{api}/api/v1/audit/export", params={"format": "csv", "correlation_id": "case-2"}, headers=officer
    )
    rows = list(csv.DictReader(io.StringIO(table.text)))
    assert [int(r["seq"]) for r in rows] == [9, 10, 11, 12]
    assert json.loads(rows[0]["payload"]) == {"i": 0}
    exported = _recorded(events.AUDIT_EXPORTED)
    assert [e["format"] for e in exported] == ["jsonl", "csv"]
