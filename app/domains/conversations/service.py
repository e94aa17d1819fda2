"""Record inbound questions and the answers given to them."""

from __future__ import annotations

import uuid
from collections.abc import Sequence
from datetime import timedelta
from typing import Any

from sqlalchemy import cast, func, insert, select, update
from sqlalchemy.dialects.postgresql import JSONB
from sqlalchemy.dialects.postgresql import insert as pg_insert
from sqlalchemy.orm import Session

from app.core.context import new_correlation_id
from app.core.db import notify, session_scope, utcnow, wait_for
from app.core.errors import NotFound
from app.core.settings import get_settings
from app.core.validation import bounded_text
from app.domains.conversations.models import Answer, Citation, Conversation, Message
from app.domains.conversations.schemas import AnswerOut, CitationOut, InboundReceipt
from app.domains.knowledge import service as knowledge
from app.domains.principals import service as principals
from audit import events
from audit import store as audit_store
from rag.generation import DraftAnswer

ANSWER_READY_CHANNEL = "plinth_answer_ready"


def validate_question(text: str) -> str:
    return bounded_text(text, what="question", limit=get_settings().limits.max_question_chars)


REJECTED_TEXT_CHARS = 10_000  # of a refused question kept in its audit event


def record_rejected(
    session: Session,
    *,
    channel: str,
    principal_id: uuid.UUID | None,
    text: str,
    reason: str,
    external_id: str | None = None,
    audience: str | None = None,
) -> None:
    """A question refused before it became a message (empty or too long, or asked where Plinth may not
    answer): the audit trail keeps what was received and why it was refused."""
    audit_store.append(
        session,
        event_type=events.INPUT_REJECTED,
        actor=principals.actor(principal_id),
        channel=channel,
        payload={
            "text": text[:REJECTED_TEXT_CHARS],
            "length": len(text),
            "reason": reason,
            "external_id": external_id,
            "audience": audience,
        },
    )
    session.flush()


def _conversation(session: Session, *, channel: str, key: str, principal_id: uuid.UUID) -> uuid.UUID:
    started = session.scalar(
        pg_insert(Conversation)
        .values(id=uuid.uuid4(), channel=channel, external_key=key, started_by=principal_id)
        .on_conflict_do_nothing(index_elements=["channel", "external_key"])
        .returning(Conversation.id)
    )
    if started is not None:
        return started
    found = session.scalar(
        select(Conversation.id).where(Conversation.channel == channel, Conversation.external_key == key)
    )
    assert found is not None
    return found


def record_inbound(
    session: Session,
    *,
    channel: str,
    principal_id: uuid.UUID,
    text: str,
    external_id: str | None = None,
    conversation_key: str | None = None,
    reply_to: dict[str, Any] | None = None,
    audience: str | None = None,
) -> InboundReceipt:
    """Store a question (and audit it) before anything processes it. A repeated `external_id` on the
    same channel returns the first message instead of a new one. `reply_to` is what the front end needs
    to reply; `audience` names who else will read the answer (it then uses only what all may read)."""
    # Core statements, not the unit of work: this runs on every front end's acknowledgement path.
    if external_id is not None:
        existing = session.execute(
            select(Message.id, Message.correlation_id).where(
                Message.channel == channel, Message.external_id == external_id
            )
        ).first()
        if existing is not None:
            return InboundReceipt(
                message_id=existing.id, correlation_id=existing.correlation_id, duplicate=True
            )
    question = validate_question(text)
    message_id = uuid.uuid4()
    correlation_id = new_correlation_id()
    conversation_id = _conversation(
        session, channel=channel, key=conversation_key or str(message_id), principal_id=principal_id
    )
    session.execute(
        insert(Message).values(
            id=message_id,
            conversation_id=conversation_id,
            principal_id=principal_id,
            channel=channel,
            external_id=external_id,
            text=question,
            correlation_id=correlation_id,
            reply_to=reply_to,
            audience=audience,
        )
    )
    audit_store.append(
        session,
        event_type=events.INPUT_RECEIVED,
        actor=principals.actor(principal_id),
        channel=channel,
        subject=f"message:{message_id}",
        correlation_id=correlation_id,
        payload={"text": question, "external_id": external_id, "audience": audience},
    )
    session.flush()
    return InboundReceipt(message_id=message_id, correlation_id=correlation_id, duplicate=False)


def get_message(session: Session, *, message_id: uuid.UUID) -> Message:
    message = session.get(Message, message_id)
    if message is None:
        raise NotFound(f"no message {message_id}")
    return message


def lock_reply_to(session: Session, *, message_id: uuid.UUID, **fields: Any) -> dict[str, Any]:
    """What the front end needs to reply, after adding `fields` (e.g. the placeholder it posted while
    working), with the message row locked until the transaction ends, so a placeholder and a delivery
    never both post. One column, merged in the database: this runs for every question, in the API
    process that also acknowledges them."""
    if fields:
        merged = func.coalesce(Message.reply_to, cast({}, JSONB)).op("||")(cast(fields, JSONB))
        row = session.execute(
            update(Message)
            .where(Message.id == message_id)
            .values(reply_to=merged)
            .returning(Message.reply_to),
            execution_options={"synchronize_session": False},
        ).first()
    else:
        row = session.execute(
            select(Message.reply_to).where(Message.id == message_id).with_for_update()
        ).first()
    if row is None:
        raise NotFound(f"no message {message_id}")
    return dict(row[0] or {})


def remember_query_embedding(session: Session, *, message: Message, embedding: Sequence[float]) -> None:
    message.query_embedding = list(embedding)
    session.flush()


def earlier_turns(session: Session, *, message: Message, limit: int) -> list[tuple[str, str | None]]:
    """The questions (and answers) asked before this one in the same conversation, oldest first."""
    rows = session.execute(
        select(Message.text, Answer.text)
        .outerjoin(Answer, Answer.message_id == Message.id)
        .where(Message.conversation_id == message.conversation_id, Message.received_at < message.received_at)
        .order_by(Message.received_at.desc())
        .limit(limit)
    ).all()
    return [(question, answer) for question, answer in reversed(rows)]


def find_answer(session: Session, *, message_id: uuid.UUID) -> Answer | None:
    return session.scalar(select(Answer).where(Answer.message_id == message_id))


def store_answer(
    session: Session,
    *,
    message: Message,
    draft: DraftAnswer,
    processing_ms: float,
    settings: dict[str, object],
) -> Answer:
    """Store the answer with its citations, audit it, and tell waiters once the transaction commits."""
    completion = draft.completion
    answer = Answer(
        message_id=message.id,
        text=draft.text,
        mode=draft.mode,
        answered=draft.answered,
        confidence=draft.confidence,
        fallback_reason=draft.fallback_reason,
        model=completion.model if completion else None,
        prompt_version=draft.prompt_version,
        settings=settings,
        prompt_tokens=completion.prompt_tokens if completion else 0,
        completion_tokens=completion.completion_tokens if completion else 0,
        processing_ms=processing_ms,
    )
    session.add(answer)
    session.flush()
    session.add_all(
        Citation(
            answer_id=answer.id,
            number=c.number,
            chunk_id=c.passage.chunk_id,
            document_id=c.passage.document_id,
            document_version_id=c.passage.document_version_id,
            version_no=c.passage.version_no,
            title=c.passage.title,
            source=c.passage.source,
            heading=c.passage.heading,
            page=c.passage.page,
            score=c.passage.score,
        )
        for c in draft.citations
    )
    message.status = "answered"
    audit_store.append(
        session,
        event_type=events.OUTPUT_GENERATED,
        actor=events.SYSTEM_ACTOR,
        channel=message.channel,
        subject=f"answer:{answer.id}",
        correlation_id=message.correlation_id,
        payload={
            "message_id": str(message.id),
            "text": draft.text,
            "mode": draft.mode,
            "answered": draft.answered,
            "confidence": round(draft.confidence, 4),
            "fallback_reason": draft.fallback_reason,
            "model": answer.model,
            "prompt_version": answer.prompt_version,
            "citations": [
                {"number": c.number, "chunk_id": c.passage.chunk_id, "version_no": c.passage.version_no}
                for c in draft.citations
            ],
        },
    )
    session.flush()
    notify(session, ANSWER_READY_CHANNEL, str(message.id))
    return answer


def answer_view(
    session: Session, *, message_id: uuid.UUID, asked_by: uuid.UUID | None = None
) -> AnswerOut | None:
    """The answer to a message, or None while it is still being worked on. With `asked_by`, a message
    someone else asked is reported as not found."""
    message = get_message(session, message_id=message_id)
    if asked_by is not None and message.principal_id != asked_by:
        raise NotFound(f"no message {message_id}")
    answer = find_answer(session, message_id=message_id)
    if answer is None:
        return None
    stale = knowledge.stale_document_ids(session, document_ids=[c.document_id for c in answer.citations])
    return AnswerOut(
        message_id=message.id,
        question=message.text,
        answer=answer.text,
        mode=answer.mode,
        answered=answer.answered,
        confidence=answer.confidence,
        fallback_reason=answer.fallback_reason,
        model=answer.model,
        citations=[
            CitationOut.model_validate(c).model_copy(update={"stale": c.document_id in stale})
            for c in answer.citations
        ],
        latency_ms=(answer.created_at - message.received_at).total_seconds() * 1000,
    )


def wait_for_answer(*, message_id: uuid.UUID, timeout_s: float) -> AnswerOut:
    """Block until the message is answered (woken by the answer's NOTIFY). Raises Timeout."""

    def check() -> AnswerOut | None:
        with session_scope() as session:
            return answer_view(session, message_id=message_id)

    return wait_for(ANSWER_READY_CHANNEL, check, timeout_s)


def unanswered_between(
    session: Session, *, older_than_s: float, newer_than_s: float, limit: int
) -> Sequence[uuid.UUID]:
    """Questions that have waited longer than expected (their task may have been lost), but not so long
    that answering them now would surprise anyone."""
    now = utcnow()
    return session.scalars(
        select(Message.id)
        .where(
            Message.status == "received",
            Message.received_at < now - timedelta(seconds=older_than_s),
            Message.received_at > now - timedelta(seconds=newer_than_s),
        )
        .order_by(Message.received_at)
        .limit(limit)
    ).all()
