from __future__ import annotations

from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest
from sqlalchemy import select

from app.core.db import session_scope
from app.domains.assistant import service as assistant
from app.domains.conversations import service as conversations
from app.domains.knowledge import service as knowledge
from app.domains.principals import service as principals
from audit.models import AuditEvent
from tests.conftest import Env
from tests.fakes.openai_server import StubServer
from tests.integration.conftest import ingest_file


@pytest.fixture
def leave_corpus(database_url: str, shared_data: Path) -> None:
    ingest_file(shared_data / "qa" / "handbook-18F" / "pages" / "travel-and-leave" / "leave.md")


def _ask(question: str, user: str = "asker") -> tuple[str, object]:
    with session_scope() as session:
        asker = principals.ensure_local(session, handle=user)
        receipt = conversations.record_inbound(session, channel="cli", principal_id=asker.id, text=question)
    with session_scope() as session:
        assistant.answer_message(session, message_id=receipt.message_id)
    with session_scope() as session:
        view = conversations.answer_view(session, message_id=receipt.message_id)
    return receipt.correlation_id, view


QUESTION = "How many hours of annual leave do I earn per pay period?"


def test_generated_answer_cites_what_the_model_was_given(
    leave_corpus: None, env: Env, stub_llm: StubServer
) -> None:
    stub_llm.reset()
    env.set(PLINTH_LLM_BASE_URL=stub_llm.base_url)
    correlation_id, answer = _ask(QUESTION)
    assert answer.mode == "generated"
    assert answer.answered
    assert answer.model == "stub-model"
    assert answer.answer.endswith("[1]")
    assert [c.number for c in answer.citations] == [1]
    assert answer.citations[0].source == "leave.md"
    prompt = stub_llm.state.requests[0]["messages"][1]["content"]
    assert '<source id="1" title=' in prompt
    assert QUESTION in prompt
    assert stub_llm.state.requests[0]["n"] == 1
    with session_scope() as session:
        trail = session.scalars(
            select(AuditEvent.event_type)
            .where(AuditEvent.correlation_id == correlation_id)
            .order_by(AuditEvent.seq)
        ).all()
    assert trail == ["input.received", "output.generated"]


def test_model_down_gives_an_extractive_answer_not_an_error(
    leave_corpus: None, env: Env, stub_llm: StubServer
) -> None:
    stub_llm.reset()
    stub_llm.state.mode = "error"
    env.set(PLINTH_LLM_BASE_URL=stub_llm.base_url)
    _, answer = _ask(QUESTION)
    assert answer.mode == "extractive"
    assert answer.answered
    assert "503" in (answer.fallback_reason or "")
    assert answer.citations[0].source == "leave.md"


def test_without_a_model_answers_are_extractive(leave_corpus: None) -> None:
    _, answer = _ask(QUESTION)
    assert answer.mode == "extractive"
    assert answer.fallback_reason == "no language model is configured"
    assert "4 hours per pay period" in answer.answer


def test_unrelated_question_is_not_answered(leave_corpus: None) -> None:
    _, answer = _ask("What is the boiling point of tungsten in kelvin?")
    assert not answer.answered
    assert answer.answer.startswith("I could not find")


def test_answering_twice_returns_the_same_answer(leave_corpus: None) -> None:
    with session_scope() as session:
        asker = principals.ensure_local(session, handle="twice")
        receipt = conversations.record_inbound(session, channel="cli", principal_id=asker.id, text=QUESTION)
    with session_scope() as session:
        first = assistant.answer_message(session, message_id=receipt.message_id).id
    with session_scope() as session:
        second = assistant.answer_message(session, message_id=receipt.message_id).id
    assert first == second


def test_same_external_id_is_recorded_once(database_url: str) -> None:
    with session_scope() as session:
        asker = principals.ensure_local(session, handle="dup")
        first = conversations.record_inbound(
            session, channel="api", principal_id=asker.id, text="Hi?", external_id="ev-1"
        )
        again = conversations.record_inbound(
            session, channel="api", principal_id=asker.id, text="Hi?", external_id="ev-1"
        )
    assert again.duplicate
    assert again.message_id == first.message_id


@pytest.mark.parametrize(
    ("text", "message"), [("   ", "the question is empty"), ("x" * 5000, "the limit is 4000")]
)
def test_bad_questions_get_a_clear_error(database_url: str, text: str, message: str) -> None:
    from app.core.errors import InvalidInput

    with session_scope() as session:
        asker = principals.ensure_local(session, handle="bad")
        with pytest.raises(InvalidInput, match=message):
            conversations.record_inbound(session, channel="cli", principal_id=asker.id, text=text)


def test_a_source_past_its_review_date_is_flagged_stale(leave_corpus: None) -> None:
    _, fresh = _ask(QUESTION, user="stale-reader")
    assert fresh.citations
    assert not any(c.stale for c in fresh.citations)
    with session_scope() as session:
        knowledge.set_review(
            session,
            document_id=fresh.citations[0].document_id,
            review_at=datetime.now(UTC) - timedelta(days=1),
            expires_at=None,
            by=None,
        )
    _, later = _ask(QUESTION, user="stale-reader")
    assert later.citations[0].stale
