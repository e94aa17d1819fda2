"""Questions and their answers for people reviewing them: filtered, paginated lists and one question in
full (answer, citations, feedback, corrections, escalations and its audit trail)."""

from __future__ import annotations

import uuid
from collections.abc import Sequence
from datetime import date, datetime, timedelta
from typing import Any, Literal

from pydantic import BaseModel, ConfigDict, Field
from sqlalchemy import select, text
from sqlalchemy.orm import Session

from app.domains.conversations.models import Answer, Escalation, Feedback, Message
from app.domains.conversations.schemas import CitationOut
from audit.models import AuditEvent

Outcome = Literal["answered", "fallback", "dont_know", "pending"]
Rating = Literal["up", "down", "none"]
MAX_PER_PAGE = 100

_OUTCOME_SQL = """
    CASE WHEN a.id IS NULL THEN 'pending'
         WHEN NOT a.answered THEN 'dont_know'
         WHEN a.fallback_reason IS NOT NULL THEN 'fallback'
         ELSE 'answered' END
"""


class ConversationFilter(BaseModel):
    q: str | None = Field(default=None, description="Words in the question or the answer.")
    channel: str | None = None
    outcome: Outcome | None = None
    asker: str | None = Field(default=None, description="Part of the asker's handle.")
    rating: Rating | None = Field(default=None, description="Answers rated 👍, 👎, or not rated.")
    since: date | None = None
    until: date | None = None


class ConversationRow(BaseModel):
    message_id: uuid.UUID
    received_at: datetime
    channel: str
    asker: str
    question: str
    outcome: Outcome
    mode: str | None
    answer: str | None
    citations: int
    thumbs_up: int
    thumbs_down: int
    latency_ms: float | None


class ConversationPage(BaseModel):
    rows: list[ConversationRow]
    total: int
    page: int
    per_page: int


def _where(filters: ConversationFilter, asked_by: uuid.UUID | None) -> tuple[str, dict[str, Any]]:
    clauses: list[str] = ["TRUE"]
    params: dict[str, Any] = {}
    if filters.q:
        clauses.append("(m.text ILIKE :q OR a.text ILIKE :q)")
        params["q"] = f"%{_escape_like(filters.q.strip())}%"
    if filters.channel:
        clauses.append("m.channel = :channel")
        params["channel"] = filters.channel
    if filters.outcome:
        clauses.append(f"({_OUTCOME_SQL}) = :outcome")
        params["outcome"] = filters.outcome
    if filters.asker:
        clauses.append("p.handle ILIKE :asker")
        params["asker"] = f"%{_escape_like(filters.asker.strip())}%"
    if filters.rating == "up":
        clauses.append("COALESCE(r.up, 0) > 0")
    elif filters.rating == "down":
        clauses.append("COALESCE(r.down, 0) > 0")
    elif filters.rating == "none":
        clauses.append("COALESCE(r.up, 0) + COALESCE(r.down, 0) = 0")
    if filters.since:
        clauses.append("m.received_at >= CAST(:since AS timestamptz)")
        params["since"] = f"{filters.since.isoformat()}T00:00:00+00:00"
    if filters.until:
        clauses.append("m.received_at < CAST(:until AS timestamptz)")
        params["until"] = f"{(filters.until + timedelta(days=1)).isoformat()}T00:00:00+00:00"
    if asked_by is not None:
        clauses.append("m.principal_id = :asked_by")
        params["asked_by"] = asked_by
    return " AND ".join(clauses), params


def _escape_like(value: str) -> str:
    return value.replace("\\", "\\\\").replace("%", "\\%").replace("_", "\\_")


_FROM = """
    FROM messages m
    JOIN principals p ON p.id = m.principal_id
    LEFT JOIN answers a ON a.message_id = m.id
    LEFT JOIN (
        SELECT answer_id, count(*) FILTER (WHERE rating > 0) AS up, count(*) FILTER (WHERE rating < 0) AS down
        FROM feedback GROUP BY answer_id
    ) r ON r.answer_id = a.id
"""


def list_conversations(
    session: Session,
    *,
    filters: ConversationFilter,
    page: int = 1,
    per_page: int = 25,
    asked_by: uuid.UUID | None = None,
) -> ConversationPage:
    """Newest first. With `asked_by`, only that principal's own questions."""
    page, per_page = max(page, 1), min(max(per_page, 1), MAX_PER_PAGE)
    where, params = _where(filters, asked_by)
    total = session.execute(text(f"SELECT count(*) {_FROM} WHERE {where}"), params).scalar_one()
    rows = session.execute(
        text(
            f"""
            SELECT m.id AS message_id, m.received_at, m.channel, p.handle AS asker, m.text AS question,
                   {_OUTCOME_SQL} AS outcome, a.mode, a.text AS answer,
                   (SELECT count(*) FROM citations c WHERE c.answer_id = a.id) AS citations,
                   COALESCE(r.up, 0) AS thumbs_up, COALESCE(r.down, 0) AS thumbs_down,
                   extract(epoch FROM a.created_at - m.received_at) * 1000 AS latency_ms
            {_FROM}
            WHERE {where}
            ORDER BY m.received_at DESC, m.id
            LIMIT :limit OFFSET :offset
            """  # noqa: S608 - only fixed clauses are interpolated; values are bound
        ),
        {**params, "limit": per_page, "offset": (page - 1) * per_page},
    )
    return ConversationPage(
        rows=[ConversationRow.model_validate(dict(r._mapping)) for r in rows],
        total=total,
        page=page,
        per_page=per_page,
    )


def channels(session: Session) -> list[str]:
    return list(session.scalars(select(Message.channel).distinct().order_by(Message.channel)))


class FeedbackOut(BaseModel):
    model_config = ConfigDict(from_attributes=True)

    principal_id: uuid.UUID
    rating: int
    reason: str | None
    channel: str | None
    updated_at: datetime


class EscalationOut(BaseModel):
    model_config = ConfigDict(from_attributes=True)

    id: uuid.UUID
    status: str
    reason: str | None
    channel: str
    created_at: datetime
    resolved_at: datetime | None


class AuditEntry(BaseModel):
    seq: int
    ts: datetime
    event_type: str
    actor: str
    subject: str | None
    payload: dict[str, Any] | None  # None: the reader may not see audit payloads


class ConversationDetail(BaseModel):
    message_id: uuid.UUID
    principal_id: uuid.UUID
    channel: str
    received_at: datetime
    question: str
    outcome: Outcome
    answer: str | None
    mode: str | None
    confidence: float | None
    fallback_reason: str | None
    model: str | None
    latency_ms: float | None
    citations: list[CitationOut]
    feedback: list[FeedbackOut]
    escalations: list[EscalationOut]
    audit: list[AuditEntry]


def _outcome(answer: Answer | None) -> Outcome:
    if answer is None:
        return "pending"
    if not answer.answered:
        return "dont_know"
    return "fallback" if answer.fallback_reason else "answered"


def detail(
    session: Session, *, message_id: uuid.UUID, with_audit: bool, with_payloads: bool
) -> ConversationDetail | None:
    message = session.get(Message, message_id)
    if message is None:
        return None
    answer = session.scalar(select(Answer).where(Answer.message_id == message_id))
    feedback: Sequence[Feedback] = (
        session.scalars(
            select(Feedback).where(Feedback.answer_id == answer.id).order_by(Feedback.updated_at)
        ).all()
        if answer
        else []
    )
    escalations = session.scalars(
        select(Escalation).where(Escalation.message_id == message_id).order_by(Escalation.created_at)
    )
    events: Sequence[AuditEvent] = (
        session.scalars(
            select(AuditEvent)
            .where(AuditEvent.correlation_id == message.correlation_id)
            .order_by(AuditEvent.seq)
        ).all()
        if with_audit
        else []
    )
    return ConversationDetail(
        message_id=message.id,
        principal_id=message.principal_id,
        channel=message.channel,
        received_at=message.received_at,
        question=message.text,
        outcome=_outcome(answer),
        answer=answer.text if answer else None,
        mode=answer.mode if answer else None,
        confidence=answer.confidence if answer else None,
        fallback_reason=answer.fallback_reason if answer else None,
        model=answer.model if answer else None,
        latency_ms=(answer.created_at - message.received_at).total_seconds() * 1000 if answer else None,
        citations=[CitationOut.model_validate(c) for c in answer.citations] if answer else [],
        feedback=[FeedbackOut.model_validate(f) for f in feedback],
        escalations=[EscalationOut.model_validate(e) for e in escalations],
        audit=[
            AuditEntry(
                seq=e.seq,
                ts=e.ts,
                event_type=e.event_type,
                actor=e.actor,
                subject=e.subject,
                payload=e.payload if with_payloads else None,
            )
            for e in events
        ],
    )
