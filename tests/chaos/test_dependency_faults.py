"""Redis, PostgreSQL and the LLM going away and coming back: questions accepted meanwhile are kept and
answered, the API says it is not ready (or 503) while a dependency is down, and recovers by itself."""

from __future__ import annotations

import uuid

import httpx
import pytest

from app.core.settings import get_settings
from app.domains.conversations import service as conversations
from app.intake import submit_question
from app.runtime.postgres import EmbeddedPostgres, free_port
from app.runtime.redis_server import BundledRedis
from tests.fakes.openai_server import StubServer
from tests.support.stack import Stack, answers_for, eventually

pytestmark = pytest.mark.slow
QUESTION = "How many hours of annual leave do I earn per pay period?"


def _auth() -> dict[str, str]:
    return {"Authorization": f"Bearer {get_settings().api_token()}"}


def _ask(api: str, question: str) -> httpx.Response:
    return httpx.post(
        f"{api}/api/v1/ask", json={"question": question, "wait": False}, headers=_auth(), timeout=30
    )


def test_redis_restart_loses_nothing_accepted_and_readiness_follows_it(
    stack: Stack, chaos_redis: BundledRedis, stub_llm: StubServer
) -> None:
    stack.worker()
    stack.beat()
    api = stack.api()
    eventually(lambda: httpx.get(f"{api}/readyz", timeout=5).status_code == 200, timeout_s=60, what="ready")
    stub_llm.state.delay_s = 3.0
    before = [uuid.UUID(_ask(api, f"{QUESTION} (before {n})").json()["message_id"]) for n in range(3)]
    eventually(lambda: len(stub_llm.state.requests) >= 1, timeout_s=60, what="the first answer under way")

    chaos_redis.stop()
    ready = httpx.get(f"{api}/readyz", timeout=15)
    assert ready.status_code == 503
    assert ready.json()["checks"]["redis"]["status"] == "down"
    during = _ask(api, f"{QUESTION} (during)")
    assert during.status_code == 202  # recorded and kept in the outbox; the broker is not needed to accept
    accepted = [*before, uuid.UUID(during.json()["message_id"])]

    url = chaos_redis.url
    chaos_redis.start()  # same port and data directory: what was queued is in its append-only file
    assert chaos_redis.url == url
    stub_llm.state.delay_s = 0.0
    for message_id in accepted:
        conversations.wait_for_answer(message_id=message_id, timeout_s=120)
        assert answers_for(message_id) == 1
    eventually(
        lambda: httpx.get(f"{api}/readyz", timeout=5).status_code == 200, timeout_s=60, what="ready again"
    )


def test_postgres_restart_gives_503_meanwhile_and_recovers_without_losing_work(
    stack: Stack, chaos_pg: EmbeddedPostgres, stub_llm: StubServer
) -> None:
    stack.worker()
    api = stack.api()
    stub_llm.state.delay_s = 3.0
    in_flight = uuid.UUID(_ask(api, QUESTION).json()["message_id"])
    eventually(lambda: len(stub_llm.state.requests) >= 1, timeout_s=60, what="the answer under way")

    chaos_pg.stop()  # fast shutdown: every connection, the worker's included, is cut
    down = _ask(api, f"{QUESTION} (while down)")
    assert down.status_code == 503
    assert down.json()["error"]["code"] == "unavailable"
    assert down.headers["retry-after"]
    assert httpx.get(f"{api}/readyz", timeout=15).json()["checks"]["database"]["status"] == "down"

    chaos_pg.start()
    stub_llm.state.delay_s = 0.0
    # The same API process, no restart: its pool replaces the dead connections.
    after = eventually(
        lambda: (r := _ask(api, f"{QUESTION} (after)")).status_code == 202 and r, timeout_s=60, what="202"
    )
    # The answer whose database vanished mid-task is retried (transient error) and stored once.
    conversations.wait_for_answer(message_id=in_flight, timeout_s=120)
    assert answers_for(in_flight) == 1
    conversations.wait_for_answer(message_id=uuid.UUID(after.json()["message_id"]), timeout_s=60)


def test_llm_down_gives_labelled_extractive_answers(stack: Stack) -> None:
    stack.worker(PLINTH_LLM_BASE_URL=f"http://127.0.0.1:{free_port()}/v1")  # nothing listens there
    message_id = submit_question(question=QUESTION, user="llm-down", groups=None, channel="cli")
    answer = conversations.wait_for_answer(message_id=message_id, timeout_s=120)
    assert answer.mode == "extractive"
    assert answer.answered
    assert answer.fallback_reason
    assert answer.citations
    assert answer.citations[0].source == "leave.md"
