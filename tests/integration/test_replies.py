"""What front ends record around an answer: its delivery (exactly once), feedback and escalations."""

from __future__ import annotations

import uuid
from datetime import timedelta
from pathlib import Path

import pytest
from sqlalchemy import select, update

from app.core.db import session_scope
from app.core.errors import InvalidInput, NotFound
from app.domains.assistant import service as assistant
from app.domains.conversations import deliveries, escalations, feedback
from app.domains.conversations import service as conversations
from app.domains.conversations.models import Answer, Feedback
from app.domains.principals import service as principals
from audit.models import AuditEvent
from tests.integration.conftest import ingest_file


@pytest.fixture
def answered(database_url: str, shared_data: Path) -> tuple[uuid.UUID, uuid.UUID, uuid.UUID]:
    """(message id, answer id, asker id) of an answered question that arrived through Slack."""
    ingest_file(shared_data / "qa" / "handbook-18F" / "pages" / "travel-and-leave" / "leave.md")
    with session_scope() as session:
        asker = principals.ensure_local(session, handle="slacker")
        receipt = conversations.record_inbound(
            session,
            channel="slack",
            principal_id=asker.id,
            text="How do I request sick leave?",
            external_id="Ev01",
            reply_to={"channel": "C1", "thread_ts": "1.2"},
            audience="slack:T1:C1",
        )
    with session_scope() as session:
        summary = assistant.answer_message(session, message_id=receipt.message_id)
    return receipt.message_id, summary.id, asker.id


def _events(correlation_subject: str) -> list[str]:
    with session_scope() as session:
        return list(
            session.scalars(
                select(AuditEvent.event_type)
                .where(AuditEvent.subject == correlation_subject)
                .order_by(AuditEvent.seq)
            )
        )


def test_reply_context_is_kept_with_the_message(answered: tuple[uuid.UUID, uuid.UUID, uuid.UUID]) -> None:
    message_id, _, _ = answered
    with session_scope() as session:
        conversations.lock_reply_to(session, message_id=message_id, placeholder_ts="1.3")
    with session_scope() as session:
        message = conversations.get_message(session, message_id=message_id)
        assert message.reply_to == {"channel": "C1", "thread_ts": "1.2", "placeholder_ts": "1.3"}
        assert message.audience == "slack:T1:C1"
        assert message.query_embedding is not None


def test_a_delivered_answer_is_never_delivered_again(
    answered: tuple[uuid.UUID, uuid.UUID, uuid.UUID],
) -> None:
    message_id, answer_id, _ = answered
    with session_scope() as session:
        first = deliveries.start_attempt(session, message_id=message_id)
    assert first is not None
    assert first.attempt == 1
    assert first.external_ref is None
    with session_scope() as session:
        deliveries.remember_external_ref(session, delivery_id=first.delivery_id, external_ref="1.3")
        deliveries.mark_failed(session, delivery_id=first.delivery_id, error="HTTP 500", final=False)
    with session_scope() as session:
        retry = deliveries.start_attempt(session, message_id=message_id)
    # The retry knows what the first attempt posted, so it edits that message instead of posting again.
    assert retry is not None
    assert retry.attempt == 2
    assert retry.external_ref == "1.3"
    with session_scope() as session:
        deliveries.mark_delivered(session, delivery_id=retry.delivery_id, external_ref="1.3")
    with session_scope() as session:
        assert deliveries.start_attempt(session, message_id=message_id) is None
    assert _events(f"answer:{answer_id}") == ["output.generated", "output.delivered"]


def test_lost_and_failed_deliveries_are_found(answered: tuple[uuid.UUID, uuid.UUID, uuid.UUID]) -> None:
    message_id, answer_id, _ = answered

    def pending() -> list[tuple[uuid.UUID, str]]:
        with session_scope() as session:
            return deliveries.undelivered(
                session, channels=["slack", "email"], older_than_s=60, newer_than_s=3600, limit=10
            )

    assert pending() == []  # too fresh: its delivery task is probably still queued
    with session_scope() as session:
        session.execute(
            update(Answer)
            .where(Answer.id == answer_id)
            .values(created_at=Answer.created_at - timedelta(minutes=5))
        )
    assert pending() == [(message_id, "slack")]
    with session_scope() as session:
        attempt = deliveries.start_attempt(session, message_id=message_id)
        assert attempt is not None
        deliveries.mark_failed(
            session, delivery_id=attempt.delivery_id, error="channel_not_found", final=True
        )
    assert pending() == []  # failed for good: shown to admins instead of retried forever
    with session_scope() as session:
        assert [d.last_error for d in deliveries.failed(session)] == ["channel_not_found"]
    assert _events(f"answer:{answer_id}") == ["output.generated", "output.delivery_failed"]


def test_feedback_keeps_each_persons_latest_rating_and_audits_every_click(
    answered: tuple[uuid.UUID, uuid.UUID, uuid.UUID],
) -> None:
    _, answer_id, asker_id = answered
    with session_scope() as session:
        feedback.record(
            session, answer_id=answer_id, principal_id=asker_id, rating=1, reason=None, channel="slack"
        )
    with session_scope() as session:
        feedback.record(
            session,
            answer_id=answer_id,
            principal_id=asker_id,
            rating=-1,
            reason="out of date",
            channel="slack",
        )
    with session_scope() as session:
        rows = session.scalars(select(Feedback).where(Feedback.answer_id == answer_id)).all()
        assert [(r.rating, r.reason) for r in rows] == [(-1, "out of date")]
    assert _events(f"answer:{answer_id}") == ["output.generated", "feedback.recorded", "feedback.recorded"]


def test_bad_feedback_is_refused_clearly(answered: tuple[uuid.UUID, uuid.UUID, uuid.UUID]) -> None:
    _, answer_id, asker_id = answered
    with session_scope() as session, pytest.raises(InvalidInput, match=r"\+1 .* or -1"):
        feedback.record(
            session, answer_id=answer_id, principal_id=asker_id, rating=5, reason=None, channel="x"
        )
    with session_scope() as session, pytest.raises(NotFound):
        feedback.record(
            session, answer_id=uuid.uuid4(), principal_id=asker_id, rating=1, reason=None, channel="x"
        )


def test_escalations_are_opened_posted_and_resolved(answered: tuple[uuid.UUID, uuid.UUID, uuid.UUID]) -> None:
    message_id, answer_id, asker_id = answered
    with session_scope() as session:
        opened = escalations.request(
            session, message_id=message_id, principal_id=asker_id, channel="slack", reason="urgent"
        )
        escalation_id = opened.id
        assert opened.answer_id == answer_id
    with session_scope() as session:
        escalations.mark_posted(session, escalation_id=escalation_id, external_ref="C-help/1.9")
        assert [e.id for e in escalations.open_escalations(session)] == [escalation_id]
    with session_scope() as session:
        escalations.resolve(session, escalation_id=escalation_id, by=None)
        assert escalations.open_escalations(session) == []
    assert _events(f"escalation:{escalation_id}") == ["escalation.requested", "escalation.resolved"]
