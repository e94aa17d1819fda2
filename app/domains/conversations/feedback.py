"""Ratings people give answers (👍 / 👎 with an optional reason)."""

from __future__ import annotations

import uuid

from sqlalchemy import select
from sqlalchemy.dialects.postgresql import insert as pg_insert
from sqlalchemy.orm import Session

from app.core import tracing
from app.core.db import utcnow
from app.core.errors import InvalidInput, NotFound
from app.core.validation import bounded_text
from app.domains.conversations.models import Answer, Feedback, Message
from app.domains.principals import service as principals
from audit import events
from audit import store as audit_store

MAX_REASON_CHARS = 2000


def record(
    session: Session,
    *,
    answer_id: uuid.UUID,
    principal_id: uuid.UUID,
    rating: int,
    reason: str | None,
    channel: str,
) -> Feedback:
    """Record (or replace) one person's rating of an answer; every rating is audited."""
    if rating not in (1, -1):
        raise InvalidInput("a rating is +1 (helpful) or -1 (not helpful)")
    reason = (
        bounded_text(reason, what="reason", limit=MAX_REASON_CHARS) if reason and reason.strip() else None
    )
    row = session.execute(
        select(Answer.id, Message.correlation_id, Message.id.label("message_id"))
        .join(Message, Message.id == Answer.message_id)
        .where(Answer.id == answer_id)
    ).first()
    if row is None:
        raise NotFound(f"no answer {answer_id}")
    now = utcnow()
    session.execute(
        pg_insert(Feedback)
        .values(
            id=uuid.uuid4(),
            answer_id=answer_id,
            principal_id=principal_id,
            rating=rating,
            reason=reason,
            channel=channel,
            created_at=now,
            updated_at=now,
        )
        .on_conflict_do_update(
            index_elements=["answer_id", "principal_id"],
            set_={"rating": rating, "reason": reason, "channel": channel, "updated_at": now},
        )
    )
    audit_store.append(
        session,
        event_type=events.FEEDBACK_RECORDED,
        actor=principals.actor(principal_id),
        channel=channel,
        subject=f"answer:{answer_id}",
        correlation_id=row.correlation_id,
        payload={"rating": rating, "reason": reason},
    )
    message_id = row.message_id
    tracing.after_commit(
        session,
        lambda: tracing.get_tracer().score(
            message_id=message_id, name="user_feedback", value=float(rating), comment=reason
        ),
    )
    feedback = session.scalar(
        select(Feedback).where(Feedback.answer_id == answer_id, Feedback.principal_id == principal_id)
    )
    assert feedback is not None
    return feedback
