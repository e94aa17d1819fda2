"""The answer path's inference layer against real PostgreSQL and stub OpenAI-compatible servers:
recorded model/prompt/retrieval settings, streaming progress, registry failover, extractive fallback
(counted and audited), cost, budgets and rate limits (before the model), the answer cache."""

from __future__ import annotations

import socket
import uuid
from collections.abc import Callable
from pathlib import Path

import pytest
from prometheus_client import REGISTRY
from sqlalchemy import select

from app.core.db import session_scope
from app.domains.assistant import service as assistant
from app.domains.channels import service as channels
from app.domains.conversations import service as conversations
from app.domains.conversations.models import Answer
from app.domains.models import service as models
from app.domains.principals import service as principals
from app.domains.usage import service as usage
from app.domains.usage.models import UsageRecord
from audit.models import AuditEvent
from rag.llm.endpoint import forget_clients
from tests.conftest import Env
from tests.fakes.openai_server import StubServer
from tests.integration.conftest import ingest_file

QUESTION = "How many hours of annual leave do I earn per pay period?"
LEAVE = Path("qa") / "handbook-18F" / "pages" / "travel-and-leave" / "leave.md"


@pytest.fixture
def corpus(database_url: str, shared_data: Path, env: Env, stub_llm: StubServer) -> StubServer:
    ingest_file(shared_data / LEAVE)
    stub_llm.reset()
    forget_clients()
    env.set(PLINTH_LLM_BASE_URL=stub_llm.base_url)
    return stub_llm


def _ask(
    question: str = QUESTION,
    *,
    user: str = "asker",
    audience: str | None = None,
    progress: Callable[[str], None] | None = None,
    thread: str | None = None,
) -> tuple[Answer, str]:
    with session_scope() as session:
        asker = principals.ensure_local(session, handle=user)
        receipt = conversations.record_inbound(
            session,
            channel="cli",
            principal_id=asker.id,
            text=question,
            audience=audience,
            conversation_key=thread,
        )
    with session_scope() as session:
        assistant.answer_message(session, message_id=receipt.message_id, on_progress=progress)
    with session_scope() as session:
        answer = conversations.find_answer(session, message_id=receipt.message_id)
        assert answer is not None
        session.expunge(answer)
        return answer, receipt.correlation_id


def _usage(answer_id: uuid.UUID) -> UsageRecord:
    with session_scope() as session:
        row = session.scalar(select(UsageRecord).where(UsageRecord.answer_id == answer_id))
        assert row is not None
        session.expunge(row)
        return row


def _trail(correlation_id: str) -> list[str]:
    with session_scope() as session:
        return list(
            session.scalars(
                select(AuditEvent.event_type)
                .where(AuditEvent.correlation_id == correlation_id)
                .order_by(AuditEvent.seq)
            )
        )


def _closed_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


def test_answer_records_model_prompt_and_retrieval_settings_and_streams(corpus: StubServer) -> None:
    seen: list[str] = []
    answer, _ = _ask(progress=seen.append)
    assert answer.mode == "generated"
    assert answer.model == "stub-model"
    assert answer.prompt_version == "answer-v1"
    assert answer.settings["endpoints"] == ["endpoint-1"]
    assert answer.settings["endpoint"] == "endpoint-1"
    assert answer.settings["top_k"] == 5
    assert answer.settings["embedding_model"] == "all-MiniLM-L6-v2"
    assert isinstance(answer.settings["corpus_version"], int)
    assert seen
    assert seen[0]
    assert answer.text.startswith(seen[0])
    assert corpus.state.requests[0]["stream"] is True


def test_usage_and_cost_per_answer(corpus: StubServer, env: Env) -> None:
    env.set(PLINTH_USAGE_PRICE_IN_PER_1K="0.5", PLINTH_USAGE_PRICE_OUT_PER_1K="2")
    answer, _ = _ask()
    row = _usage(answer.id)
    assert row.prompt_tokens == answer.prompt_tokens > 100
    assert row.completion_tokens == answer.completion_tokens > 0
    assert row.cost == pytest.approx((row.prompt_tokens * 0.5 + row.completion_tokens * 2) / 1000)
    assert row.channel == "cli"
    assert row.llm_latency_ms > 0
    assert row.total_latency_ms >= row.llm_latency_ms


def test_gpu_hour_cost_is_spread_over_measured_throughput(corpus: StubServer, env: Env) -> None:
    env.set(
        PLINTH_USAGE_COST_MODE="gpu_hour",
        PLINTH_USAGE_GPU_HOUR_COST="3.6",
        PLINTH_USAGE_THROUGHPUT_TOKENS_PER_S="1000",
    )
    answer, _ = _ask()
    row = _usage(answer.id)
    assert row.cost == pytest.approx(3.6 * (row.prompt_tokens + row.completion_tokens) / 3_600_000)


def test_registry_models_fail_over_in_priority_order(corpus: StubServer) -> None:
    with session_scope() as session:
        models.register_model(
            session,
            name="primary",
            base_url=f"http://127.0.0.1:{_closed_port()}/v1",
            served_model="big",
            context_length=8192,
            priority=1,
            actor="test",
        )
        models.register_model(
            session,
            name="backup",
            base_url=corpus.base_url,
            served_model="stub-model",
            context_length=8192,
            priority=2,
            price_in_per_1k=1.0,
            actor="test",
        )
    answer, _ = _ask()
    assert answer.mode == "generated"
    assert answer.settings["endpoints"] == ["primary", "backup"]
    assert answer.settings["endpoint"] == "backup"
    assert answer.settings["llm_attempts"] == 4  # three refused connections, one answer
    assert _usage(answer.id).cost == pytest.approx(answer.prompt_tokens / 1000)
    assert corpus.state.requests[0]["model"] == "stub-model"


def test_all_endpoints_down_falls_back_counted_and_audited(corpus: StubServer) -> None:
    corpus.state.mode = "error"
    before = REGISTRY.get_sample_value("plinth_llm_fallbacks_total", {"kind": "unavailable"}) or 0.0
    answer, correlation_id = _ask()
    assert answer.mode == "extractive"
    assert answer.text.startswith("No language model was used")
    assert "no language model endpoint answered" in (answer.fallback_reason or "")
    assert REGISTRY.get_sample_value("plinth_llm_fallbacks_total", {"kind": "unavailable"}) == before + 1
    assert _trail(correlation_id) == ["input.received", "output.generated", "output.fallback"]


def test_published_prompt_version_is_used_and_recorded(corpus: StubServer) -> None:
    with session_scope() as session:
        row = models.publish_prompt(
            session,
            name="answer",
            system="Be brief. Cite sources as [n].",
            user_template="Question: $question\n\nSources:\n$sources",
            actor="test",
        )
    assert row.version == "answer-v2"
    answer, _ = _ask()
    assert answer.prompt_version == "answer-v2"
    sent = corpus.state.requests[0]["messages"]
    assert sent[0]["content"] == "Be brief. Cite sources as [n]."
    assert sent[1]["content"].startswith(f"Question: {QUESTION}")
    with session_scope() as session:
        assert models.prompt_version(session, version="answer-v2").system.startswith("Be brief")
        models.activate_prompt(session, version="answer-v1", actor="test")
    assert _ask("What about sick leave?")[0].prompt_version == "answer-v1"


def test_hard_budget_refuses_before_the_model_and_says_when_it_resets(corpus: StubServer) -> None:
    first, _ = _ask(user="spender")
    spent = first.prompt_tokens + first.completion_tokens
    with session_scope() as session:
        spender = principals.ensure_local(session, handle="spender")
        usage.set_budget(session, kind="user", value=str(spender.id), hard_tokens=spent, actor="test")
    requests_before = len(corpus.state.requests)
    refused, correlation_id = _ask("What about sick leave?", user="spender")
    assert refused.mode == "refused"
    assert not refused.answered
    assert "daily budget for you is used up" in refused.text
    assert "It resets at" in refused.text
    assert "00:00:00 UTC" in refused.text
    assert len(corpus.state.requests) == requests_before  # the model was never called
    assert _trail(correlation_id) == ["input.received", "budget.refused", "output.generated"]
    other, _ = _ask("What about sick leave?", user="someone-else")
    assert other.mode == "generated"


def test_soft_budget_warns_and_still_answers(corpus: StubServer) -> None:
    _ask(user="team-member", audience="slack:T1:C1")
    with session_scope() as session:
        usage.set_budget(session, kind="team", value="T1", soft_tokens=1, hard_tokens=10**9, actor="test")
    answer, correlation_id = _ask("What about sick leave?", user="team-member", audience="slack:T1:C1")
    assert answer.mode == "generated"
    assert "Note: your team have used" in answer.text
    assert "budget.warned" in _trail(correlation_id)
    assert _usage(answer.id).team == "T1"


def test_rate_limit_refuses_with_the_time_to_ask_again(corpus: StubServer) -> None:
    with session_scope() as session:
        usage.set_budget(session, kind="channel", value="cli", requests_per_minute=1, actor="test")
    _ask(user="fast")
    refused, _ = _ask("Another one?", user="fast")
    assert refused.mode == "refused"
    assert "1 per minute" in refused.text
    assert "ask again at" in refused.text


def test_cache_serves_the_same_scope_without_calling_the_model(corpus: StubServer) -> None:
    first, _ = _ask(user="cache-a")
    requests = len(corpus.state.requests)
    again, _ = _ask("  how many hours of annual leave do I earn per pay period ", user="cache-a")
    assert len(corpus.state.requests) == requests
    assert again.text == first.text
    assert again.settings["cached_from"] == str(first.id)
    assert [c.chunk_id for c in again.citations] == [c.chunk_id for c in first.citations]
    row = _usage(again.id)
    assert row.cached
    assert row.prompt_tokens == 0
    assert row.cost == 0


def test_cache_is_never_shared_across_scopes(corpus: StubServer) -> None:
    _ask(user="scope-a")
    requests = len(corpus.state.requests)
    with session_scope() as session:
        principals.ensure_local(session, handle="scope-b", groups=["finance"])
    _ask(user="scope-b")
    assert len(corpus.state.requests) == requests + 1  # other grants: answered afresh
    with session_scope() as session:
        members = [principals.ensure_local(session, handle=h).id for h in ("scope-a", "scope-b")]
        channels.replace_members(
            session, audience="slack:T1:C9", principal_ids=members, has_external_members=False
        )
    _ask(user="scope-a", audience="slack:T1:C9")
    assert len(corpus.state.requests) == requests + 2  # read by both: another scope
    _ask(user="scope-b", audience="slack:T1:C9")
    assert len(corpus.state.requests) == requests + 2  # the same readers, whoever asks


def test_ingestion_invalidates_the_cache(corpus: StubServer, shared_data: Path) -> None:
    _ask(user="inv")
    requests = len(corpus.state.requests)
    ingest_file(
        shared_data / "qa" / "handbook-18F" / "pages" / "travel-and-leave" / "overtime.md", key="overtime"
    )
    _ask(user="inv")
    assert len(corpus.state.requests) == requests + 1


def test_a_follow_up_in_a_thread_is_read_with_the_turns_before_it(corpus: StubServer) -> None:
    first, _ = _ask(user="thread-a", thread="thread-1")
    _ask("And after three years?", user="thread-a", thread="thread-1")
    prompt = corpus.state.requests[-1]["messages"][-1]["content"]
    assert "And after three years?" in prompt
    assert "Earlier in this conversation" in prompt
    assert QUESTION in prompt
    assert first.text[:40] in prompt
    before = len(corpus.state.requests)
    _ask("How much annual leave do I earn after three years?", user="thread-a", thread="thread-2")
    assert len(corpus.state.requests) == before + 1  # another thread: no earlier turns
    assert "Earlier in this conversation" not in corpus.state.requests[-1]["messages"][-1]["content"]
