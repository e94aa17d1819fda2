"""Langfuse tracing through the real SDK against a local server speaking its protocol (OTLP/HTTP
traces, the scores API): span tree, attributes, usage, scores, masking, and that a slow or failing
Langfuse does not hold up answers."""

from __future__ import annotations

import json
import time
import uuid
from collections.abc import Iterator
from pathlib import Path

import pytest
from sqlalchemy import select

from app.core import tracing
from app.core.db import session_scope
from app.domains.assistant import service as assistant
from app.domains.conversations import deliveries, feedback
from app.domains.conversations import service as conversations
from app.domains.corrections import service as corrections
from app.domains.principals import service as principals
from app.domains.usage.models import UsageRecord
from rag.llm.endpoint import forget_clients
from tests.conftest import Env
from tests.fakes.langfuse_server import LangfuseServer, ReceivedSpan
from tests.fakes.openai_server import StubServer
from tests.integration.conftest import ingest_file

SECRET_EMAIL = "jane.doe@example.com"
SECRET_TOKEN = "xoxb-1234567890-abcdefghijklmnop"
QUESTION = f"How many hours of annual leave do I earn per pay period? Reply to {SECRET_EMAIL} {SECRET_TOKEN}"


@pytest.fixture(scope="module")
def langfuse() -> Iterator[LangfuseServer]:
    server = LangfuseServer().start()
    yield server
    server.stop()


@pytest.fixture
def traced(
    database_url: str, shared_data: Path, env: Env, stub_llm: StubServer, langfuse: LangfuseServer
) -> LangfuseServer:
    ingest_file(shared_data / "qa" / "handbook-18F" / "pages" / "travel-and-leave" / "leave.md")
    stub_llm.reset()
    langfuse.reset()
    forget_clients()
    env.set(
        PLINTH_LLM_BASE_URL=stub_llm.base_url,
        PLINTH_TRACING_LANGFUSE_HOST=langfuse.url,
        # One SDK client per public key: a fresh key per test gets a client for this test's server.
        PLINTH_TRACING_LANGFUSE_PUBLIC_KEY=f"pk-lf-{uuid.uuid4().hex}",
        PLINTH_TRACING_LANGFUSE_SECRET_KEY="sk-lf-test",
    )
    return langfuse


def _ask(question: str = QUESTION) -> tuple[uuid.UUID, uuid.UUID]:
    with session_scope() as session:
        asker = principals.ensure_local(session, handle="traced")
        receipt = conversations.record_inbound(
            session, channel="slack", principal_id=asker.id, text=question, conversation_key="C1:1700.1"
        )
    with session_scope() as session:
        answer = assistant.answer_message(session, message_id=receipt.message_id)
    return receipt.message_id, answer.id


def _wait_for(predicate, timeout_s: float = 10.0) -> None:  # type: ignore[no-untyped-def]
    deadline = time.monotonic() + timeout_s
    while not predicate():
        if time.monotonic() > deadline:
            raise AssertionError("Langfuse stub did not receive what was expected in time")
        time.sleep(0.05)


def _by_name(spans: list[ReceivedSpan]) -> dict[str, ReceivedSpan]:
    return {s.name: s for s in spans}


def test_one_trace_per_question_with_spans_usage_and_masking(traced: LangfuseServer, env: Env) -> None:
    env.set(PLINTH_USAGE_PRICE_IN_PER_1K="0.5", PLINTH_USAGE_PRICE_OUT_PER_1K="1.5")
    message_id, answer_id = _ask()
    tracer = tracing.get_tracer()
    tracer.flush()
    _wait_for(lambda: {"question", "generate"} <= {s.name for s in traced.state.spans})
    spans = _by_name(traced.state.spans)
    trace_id = tracer.trace_id(message_id)
    root = spans["question"]
    assert root.trace_id == trace_id
    for name in ("receive", "retrieve", "generate"):
        assert spans[name].trace_id == trace_id
        assert spans[name].parent_span_id == root.span_id
    attributes = root.attributes
    assert attributes["user.id"] == tracing.pseudonym(_asker_id())
    assert attributes["session.id"]
    generate = spans["generate"].attributes
    assert generate["langfuse.observation.type"] == "generation"
    assert generate["langfuse.observation.model.name"] == "stub-model"
    assert '"input"' in generate["langfuse.observation.usage_details"]
    # The trace reports the cost the usage record stores.
    with session_scope() as session:
        stored_cost = session.scalar(select(UsageRecord.cost).where(UsageRecord.answer_id == answer_id))
    assert stored_cost
    assert json.loads(generate["langfuse.observation.cost_details"]) == {"total": stored_cost}
    assert "traces" in "".join(traced.state.paths)
    raw = b"".join(traced.state.raw)
    assert SECRET_EMAIL.encode() not in raw
    assert SECRET_TOKEN.encode() not in raw
    assert b"[email]" in raw


def _asker_id() -> uuid.UUID:
    with session_scope() as session:
        principal = principals.find_by_handle(session, handle="traced")
        assert principal is not None
        return principal.id


def test_delivery_feedback_and_corrections_reach_the_same_trace(traced: LangfuseServer) -> None:
    message_id, answer_id = _ask()
    with session_scope() as session:
        attempt = deliveries.start_attempt(session, message_id=message_id)
        assert attempt is not None
    with session_scope() as session:
        deliveries.mark_delivered(session, delivery_id=attempt.delivery_id, external_ref="1700.2")
    asker = _asker_id()
    with session_scope() as session:
        feedback.record(
            session,
            answer_id=answer_id,
            principal_id=asker,
            rating=-1,
            reason=f"wrong, mail {SECRET_EMAIL}",
            channel="slack",
        )
    with session_scope() as session:
        correction = corrections.suggest(
            session, message_id=message_id, principal_id=asker, text="It is four hours.", channel="slack"
        )
    with session_scope() as session:
        corrections.review(session, correction_id=correction.id, reviewer_id=asker, decision="approve")
    tracer = tracing.get_tracer()
    tracer.flush()
    trace_id = tracer.trace_id(message_id)
    _wait_for(lambda: len(traced.state.scores) >= 3 and "deliver" in {s.name for s in traced.state.spans})
    assert _by_name(traced.state.spans)["deliver"].trace_id == trace_id
    scores = {(s["name"], str(s["value"])) for s in traced.state.scores}
    assert ("user_feedback", "-1.0") in scores
    assert ("correction", "suggested") in scores
    assert ("correction", "approved") in scores
    assert {s["traceId"] for s in traced.state.scores} == {trace_id}
    assert SECRET_EMAIL.encode() not in b"".join(traced.state.raw)


def _rate_then_fail(answer_id: uuid.UUID) -> None:
    with session_scope() as session:
        feedback.record(
            session, answer_id=answer_id, principal_id=_asker_id(), rating=1, reason=None, channel="slack"
        )
        raise RuntimeError("the request failed after recording")


def test_rolled_back_feedback_sends_no_score(traced: LangfuseServer) -> None:
    _, answer_id = _ask()
    with pytest.raises(RuntimeError, match="failed after recording"):
        _rate_then_fail(answer_id)
    tracing.get_tracer().flush()
    time.sleep(0.5)
    assert traced.state.scores == []


@pytest.mark.parametrize("trouble", ["down", "slow"])
def test_langfuse_trouble_does_not_hold_up_answers(traced: LangfuseServer, trouble: str) -> None:
    if trouble == "down":
        traced.state.fail_status = 503
    else:
        traced.state.delay_s = 5.0
    started = time.monotonic()
    message_id, _ = _ask()
    elapsed = time.monotonic() - started
    with session_scope() as session:
        view = conversations.answer_view(session, message_id=message_id)
    assert view is not None
    assert view.mode == "generated"
    assert elapsed < 4.0  # well under the stub's 5 s delay: exports never sit on the answer path
