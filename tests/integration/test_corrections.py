"""Corrections: suggested on an answer, reviewed, and — once approved — the answer to the same question
(or one close in meaning) for those who may read its sources, and nobody else."""

from __future__ import annotations

import uuid
from pathlib import Path

import pytest
from sqlalchemy import select

from app.core.db import session_scope
from app.core.errors import Conflict, InvalidInput
from app.domains.assistant import service as assistant
from app.domains.conversations import service as conversations
from app.domains.conversations.schemas import AnswerOut
from app.domains.corrections import service as corrections
from app.domains.knowledge import service as knowledge
from app.domains.principals import service as principals
from audit.models import AuditEvent
from tests.integration.conftest import ingest_file

QUESTION = "How many hours of annual leave do I earn per pay period?"
CORRECT = "Full-time employees with under three years of service earn 4 hours per pay period."


def ask(question: str, *, user: str, groups: list[str] | None = None) -> AnswerOut:
    with session_scope() as session:
        asker = principals.ensure_local(session, handle=user, groups=groups)
        receipt = conversations.record_inbound(session, channel="cli", principal_id=asker.id, text=question)
    with session_scope() as session:
        assistant.answer_message(session, message_id=receipt.message_id)
    with session_scope() as session:
        view = conversations.answer_view(session, message_id=receipt.message_id)
    assert view is not None
    return view


def suggest(message_id: uuid.UUID, text: str, *, user: str = "colleague") -> uuid.UUID:
    with session_scope() as session:
        who = principals.ensure_local(session, handle=user)
        return corrections.suggest(
            session, message_id=message_id, principal_id=who.id, text=text, channel="cli"
        ).id


def review(correction_id: uuid.UUID, decision: str, text: str | None = None) -> None:
    with session_scope() as session:
        reviewer = principals.ensure_local(session, handle="reviewer")
        corrections.review(
            session,
            correction_id=correction_id,
            reviewer_id=reviewer.id,
            decision=decision,  # type: ignore[arg-type]
            text=text,
        )


@pytest.fixture
def hr_only_leave_policy(database_url: str, shared_data: Path) -> None:
    ingest_file(
        shared_data / "qa" / "handbook-18F" / "pages" / "travel-and-leave" / "leave.md",
        access=["group:hr"],
    )


def test_an_approved_correction_answers_the_same_question_and_says_a_person_reviewed_it(
    hr_only_leave_policy: None,
) -> None:
    first = ask(QUESTION, user="alice", groups=["hr"])
    assert first.mode == "extractive"
    correction_id = suggest(first.message_id, CORRECT)
    # Pending corrections change nothing.
    assert ask(QUESTION, user="bob", groups=["hr"]).mode == "extractive"
    review(correction_id, "approve")

    again = ask("how many hours of annual leave do I earn per pay period", user="carol", groups=["hr"])
    assert again.mode == "curated"
    assert again.answer == CORRECT
    assert again.answered
    assert again.confidence == 1.0
    assert [c.chunk_id for c in again.citations] == [c.chunk_id for c in first.citations]

    with session_scope() as session:
        trail = session.scalars(
            select(AuditEvent.event_type).where(AuditEvent.subject == f"correction:{correction_id}")
        ).all()
    assert trail == ["correction.suggested", "correction.reviewed"]


def test_a_paraphrase_close_in_meaning_gets_the_correction_too(hr_only_leave_policy: None) -> None:
    first = ask(QUESTION, user="alice", groups=["hr"])
    review(suggest(first.message_id, CORRECT), "approve")
    paraphrase = ask("How many hours of annual leave do I earn each pay period?", user="dan", groups=["hr"])
    assert paraphrase.mode == "curated"
    unrelated = ask("How do I book travel for a conference?", user="dan", groups=["hr"])
    assert unrelated.mode != "curated"


def test_a_correction_never_reaches_someone_who_may_not_read_its_sources(
    hr_only_leave_policy: None,
) -> None:
    first = ask(QUESTION, user="alice", groups=["hr"])
    review(suggest(first.message_id, CORRECT), "approve")
    outsider = ask(QUESTION, user="eve")
    assert outsider.mode != "curated"
    assert CORRECT not in outsider.answer
    assert outsider.citations == []


def test_reviewers_can_edit_and_rejected_corrections_change_nothing(hr_only_leave_policy: None) -> None:
    first = ask(QUESTION, user="alice", groups=["hr"])
    rejected = suggest(first.message_id, "Twenty hours.")
    review(rejected, "reject")
    assert ask(QUESTION, user="bob", groups=["hr"]).mode == "extractive"
    with pytest.raises(Conflict, match="already rejected"):
        review(rejected, "approve")
    edited = suggest(first.message_id, "Four hours.")
    review(edited, "approve", text=CORRECT)
    assert ask(QUESTION, user="bob", groups=["hr"]).answer == CORRECT


def test_approval_changes_the_corpus_version_so_cached_answers_expire(hr_only_leave_policy: None) -> None:
    first = ask(QUESTION, user="alice", groups=["hr"])
    correction_id = suggest(first.message_id, CORRECT)
    with session_scope() as session:
        before = knowledge.corpus_version(session)
    review(correction_id, "approve")
    with session_scope() as session:
        assert knowledge.corpus_version(session) == before + 1


def test_bad_corrections_get_a_clear_error(hr_only_leave_policy: None) -> None:
    first = ask(QUESTION, user="alice", groups=["hr"])
    with pytest.raises(InvalidInput, match="empty"):
        suggest(first.message_id, "   ")
    with pytest.raises(InvalidInput, match="limit is 8000"):
        suggest(first.message_id, "x" * 8001)
    with session_scope() as session:
        asker = principals.ensure_local(session, handle="frank")
        unanswered = conversations.record_inbound(
            session, channel="cli", principal_id=asker.id, text="Is there a gym?"
        )
    with pytest.raises(InvalidInput, match="no answer yet"):
        suggest(unanswered.message_id, CORRECT)
