from __future__ import annotations

import sys
import time
from collections.abc import Iterator
from pathlib import Path

import httpx
import pytest
from sqlalchemy import select

from app.core.db import session_scope
from app.core.settings import get_settings
from app.domains.principals import service as principals
from app.runtime.postgres import free_port
from app.runtime.processes import ManagedProcess
from audit.models import AuditEvent
from tests.conftest import Env
from tests.integration.conftest import ingest_file
from tests.support.processes import plinth_env


def _serve(env: Env, log: Path) -> tuple[ManagedProcess, str]:
    port = free_port()
    api = ManagedProcess(
        "api", [sys.executable, "-m", "app.cli", "api", "--port", str(port)], plinth_env(env.as_dict()), log
    )
    api.start()
    base = f"http://127.0.0.1:{port}"
    deadline = time.monotonic() + 60
    while True:
        try:
            httpx.get(f"{base}/healthz", timeout=1)
            return api, base
        except httpx.HTTPError:
            if api.exited() is not None or time.monotonic() > deadline:
                raise RuntimeError(log.read_text()) from None
            time.sleep(0.2)


@pytest.fixture
def api(system_env: Env, tmp_path: Path) -> Iterator[str]:
    process, base = _serve(system_env, tmp_path / "api.log")
    yield base
    process.stop()


def _auth() -> dict[str, str]:
    return {"Authorization": f"Bearer {get_settings().api_token()}"}


def test_health_readiness_and_metrics(api: str, system_env: Env) -> None:
    assert httpx.get(f"{api}/healthz").json() == {"status": "ok"}
    ready = httpx.get(f"{api}/readyz", timeout=10)
    assert ready.status_code == 200, ready.text
    checks = ready.json()["checks"]
    assert {k: v["status"] for k, v in checks.items()} == {
        "database": "ok",
        "redis": "ok",
        "worker": "ok",
        "llm": "ok",
    }
    metrics = httpx.get(f"{api}/metrics").text
    assert 'plinth_queue_depth{queue="answers"}' in metrics
    # Counted by route template and status; latency by route.
    assert 'plinth_http_requests_total{method="GET",route="/readyz",status="200"}' in metrics
    assert 'plinth_http_request_duration_seconds_count{route="/readyz"}' in metrics


def test_ask_over_http(api: str, system_env: Env, shared_data: Path) -> None:
    ingest_file(
        shared_data / "qa" / "handbook-18F" / "pages" / "travel-and-leave" / "leave.md",
        access=["group:api-test"],
    )
    body = {
        "question": "How many hours of annual leave do I earn?",
        "user": "api-user",
        "groups": ["api-test"],
    }
    response = httpx.post(f"{api}/api/v1/ask", json=body, headers=_auth(), timeout=60)
    assert response.status_code == 200, response.text
    answer = response.json()
    assert answer["mode"] == "generated"
    assert answer["citations"][0]["source"] == "leave.md"

    queued = httpx.post(f"{api}/api/v1/ask", json={**body, "wait": False}, headers=_auth(), timeout=10)
    assert queued.status_code == 202
    message_id = queued.json()["message_id"]
    deadline = time.monotonic() + 60
    while (
        later := httpx.get(f"{api}/api/v1/messages/{message_id}/answer", headers=_auth())
    ).status_code == 202:
        assert time.monotonic() < deadline
        time.sleep(0.2)
    assert later.json()["message_id"] == message_id


def test_personal_tokens_ask_as_their_own_user(api: str, system_env: Env) -> None:
    with session_scope() as session:
        principal = principals.ensure_local(session, handle="personal@example.com")
        _, plain = principals.create_api_token(session, principal=principal, name="t", ttl_days=None, by=None)
    mine = {"Authorization": f"Bearer {plain}"}
    posing = httpx.post(f"{api}/api/v1/ask", json={"question": "hi?", "user": "ceo"}, headers=mine)
    assert posing.status_code == 403
    own = httpx.post(f"{api}/api/v1/ask", json={"question": "Is there a gym?", "wait": False}, headers=mine)
    assert own.status_code == 202
    message_id = own.json()["message_id"]
    # Someone else's question is invisible to a personal token, and visible to the service token.
    other = httpx.post(
        f"{api}/api/v1/ask", json={"question": "Secret?", "wait": False, "user": "x"}, headers=_auth()
    )
    other_id = other.json()["message_id"]
    assert httpx.get(f"{api}/api/v1/messages/{other_id}/answer", headers=mine).status_code == 404
    assert httpx.get(f"{api}/api/v1/messages/{message_id}/answer", headers=mine).status_code in (200, 202)


def test_ask_needs_the_token_and_a_real_question(api: str, system_env: Env) -> None:
    missing = httpx.post(f"{api}/api/v1/ask", json={"question": "hi"})
    assert missing.status_code == 401
    assert "bearer token" in missing.json()["error"]["message"]
    wrong = httpx.post(f"{api}/api/v1/ask", json={"question": "hi"}, headers={"Authorization": "Bearer nope"})
    assert wrong.status_code == 401
    empty = httpx.post(f"{api}/api/v1/ask", json={"question": "  ", "user": "blank"}, headers=_auth())
    assert empty.status_code == 422
    assert empty.json()["error"] == {"code": "invalid_input", "message": "the question is empty"}
    with session_scope() as session:
        refused = session.scalars(
            select(AuditEvent.payload).where(
                AuditEvent.event_type == "input.rejected", AuditEvent.actor.like("principal:%")
            )
        ).all()
    assert any(p and p["text"] == "  " and p["reason"] == "the question is empty" for p in refused)


def test_not_ready_without_a_worker(
    database_url: str, env: Env, redis_server: object, tmp_path: Path
) -> None:
    env.set(PLINTH_REDIS_URL="redis://127.0.0.1:1/0")  # nothing listens on port 1
    process, base = _serve(env, tmp_path / "api.log")
    try:
        ready = httpx.get(f"{base}/readyz", timeout=15)
        assert ready.status_code == 503
        checks = ready.json()["checks"]
        assert checks["database"]["status"] == "ok"
        assert checks["redis"]["status"] == "down"
        assert checks["worker"]["status"] == "down"
        assert checks["llm"]["status"] == "not_configured"
    finally:
        process.stop()
