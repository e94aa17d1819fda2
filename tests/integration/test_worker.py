from __future__ import annotations

from datetime import timedelta
from pathlib import Path

from sqlalchemy import update

from app.core.db import session_scope, utcnow
from app.domains.conversations import service as conversations
from app.domains.conversations.models import Message
from app.domains.principals import service as principals
from app.intake import submit_question
from tests.conftest import Env
from tests.integration.conftest import ingest_file


def test_a_question_is_answered_by_the_worker(system_env: Env, shared_data: Path) -> None:
    ingest_file(
        shared_data / "qa" / "handbook-18F" / "pages" / "getting-started" / "equipment.md",
        access=["group:worker-test"],
    )
    message_id = submit_question(
        question="Who decides whether I get a MacBook or a PC laptop?",
        user="worker-asker",
        groups=["worker-test"],
        channel="cli",
    )
    answer = conversations.wait_for_answer(message_id=message_id, timeout_s=60)
    assert answer.mode == "generated"
    assert answer.citations[0].source == "equipment.md"
    assert answer.latency_ms > 0


def test_the_sweeper_requeues_a_question_whose_task_was_lost(system_env: Env) -> None:
    from workers.tasks.maintenance import sweep_unanswered

    with session_scope() as session:
        asker = principals.ensure_local(session, handle="lost-task")
        receipt = conversations.record_inbound(
            session, channel="cli", principal_id=asker.id, text="Is anyone there?"
        )
        # Recorded three minutes ago and never queued: as if the broker lost the task.
        session.execute(
            update(Message)
            .where(Message.id == receipt.message_id)
            .values(received_at=utcnow() - timedelta(minutes=3))
        )
    assert sweep_unanswered() >= 1
    answer = conversations.wait_for_answer(message_id=receipt.message_id, timeout_s=60)
    assert answer.message_id == receipt.message_id
