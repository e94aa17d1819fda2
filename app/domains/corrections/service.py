"""Suggest, review and apply corrections. An approved correction becomes the answer to the question it
corrects, and to questions close enough in meaning, for every asker who may read the sources the
corrected answer cited (so a correction never leaks what its sources protect)."""

from __future__ import annotations

import re
import uuid
from collections.abc import Sequence
from typing import Literal

from sqlalchemy import or_, select
from sqlalchemy.orm import Session

from app.core import tracing
from app.core.db import utcnow
from app.core.errors import Conflict, InvalidInput, NotFound
from app.core.settings import get_settings
from app.core.validation import bounded_text
from app.domains.conversations import service as conversations
from app.domains.corrections.models import Correction
from app.domains.corrections.schemas import CuratedAnswer
from app.domains.knowledge import service as knowledge
from app.domains.principals import service as principals
from audit import events
from audit import store as audit_store

_SPACE = re.compile(r"\s+")
_TRAILING = re.compile(r"[\s?!.,;:]+$")
_MATCH_CANDIDATES = 5


def normalize_question(text: str) -> str:
    """Case, spacing and trailing punctuation do not make a different question."""
    return _TRAILING.sub("", _SPACE.sub(" ", text).strip().lower())


def _validated_text(text: str) -> str:
    return bounded_text(text, what="correction", limit=get_settings().corrections.max_chars)


def get(session: Session, *, correction_id: uuid.UUID) -> Correction:
    correction = session.get(Correction, correction_id)
    if correction is None:
        raise NotFound(f"no correction {correction_id}")
    return correction


def suggest(
    session: Session, *, message_id: uuid.UUID, principal_id: uuid.UUID, text: str, channel: str
) -> Correction:
    """Record a suggested correction of a message's answer, awaiting review."""
    proposed = _validated_text(text)
    message = conversations.get_message(session, message_id=message_id)
    answer = conversations.find_answer(session, message_id=message_id)
    if answer is None:
        raise InvalidInput("that question has no answer yet, so there is nothing to correct")
    cited_documents = sorted({c.document_id for c in answer.citations})
    correction = Correction(
        message_id=message.id,
        answer_id=answer.id,
        question=message.text,
        normalized_question=normalize_question(message.text),
        question_embedding=message.query_embedding,
        original_answer=answer.text,
        proposed_text=proposed,
        required_access=knowledge.access_lists(session, document_ids=cited_documents),
        cited_chunk_ids=[c.chunk_id for c in answer.citations],
        channel=channel,
        submitted_by=principal_id,
    )
    session.add(correction)
    session.flush()
    audit_store.append(
        session,
        event_type=events.CORRECTION_SUGGESTED,
        actor=principals.actor(principal_id),
        channel=channel,
        subject=f"correction:{correction.id}",
        correlation_id=message.correlation_id,
        payload={"message_id": str(message.id), "answer_id": str(answer.id), "text": proposed},
    )
    tracing.after_commit(
        session,
        lambda: tracing.get_tracer().score(
            message_id=message.id,
            name="correction",
            value="suggested",
            data_type="CATEGORICAL",
            comment=proposed,
        ),
    )
    return correction


def review(
    session: Session,
    *,
    correction_id: uuid.UUID,
    reviewer_id: uuid.UUID | None,
    decision: Literal["approve", "reject"],
    text: str | None = None,
    note: str | None = None,
) -> Correction:
    """Approve (optionally with edited text) or reject a pending correction."""
    correction = session.scalar(select(Correction).where(Correction.id == correction_id).with_for_update())
    if correction is None:
        raise NotFound(f"no correction {correction_id}")
    if correction.status != "pending":
        raise Conflict(f"correction {correction_id} was already {correction.status}")
    if decision == "approve":
        correction.status = "approved"
        correction.final_text = _validated_text(text) if text is not None else correction.proposed_text
        # Answers already computed (and cached) for this question no longer hold.
        knowledge.mark_corpus_changed(session)
    elif decision == "reject":
        correction.status = "rejected"
    else:
        raise InvalidInput(f"unknown decision {decision!r}: use approve or reject")
    correction.reviewed_by = reviewer_id
    correction.review_note = note
    correction.reviewed_at = utcnow()
    message = conversations.get_message(session, message_id=correction.message_id)
    audit_store.append(
        session,
        event_type=events.CORRECTION_REVIEWED,
        actor=principals.actor(reviewer_id),
        channel=correction.channel,
        subject=f"correction:{correction.id}",
        correlation_id=message.correlation_id,
        payload={
            "decision": correction.status,
            "final_text": correction.final_text,
            "edited": correction.final_text not in (None, correction.proposed_text),
            "note": note,
        },
    )
    decided, final_text = correction.status, correction.final_text
    tracing.after_commit(
        session,
        lambda: tracing.get_tracer().score(
            message_id=message.id,
            name="correction",
            value=decided,
            data_type="CATEGORICAL",
            comment=final_text or note,
        ),
    )
    session.flush()
    return correction


def list_corrections(
    session: Session, *, status: str | None = None, limit: int = 100
) -> Sequence[Correction]:
    query = select(Correction).order_by(Correction.created_at.desc()).limit(limit)
    if status is not None:
        query = query.where(Correction.status == status)
    return session.scalars(query).all()


def _readable(correction: Correction, grant_sets: Sequence[Sequence[str]], shared: Sequence[str]) -> bool:
    """Whether every reader may see every source the correction rests on (or the shared grants may)."""

    def opens(grants: set[str]) -> bool:
        return all(grants & set(access) for access in correction.required_access)

    return (bool(grant_sets) and all(opens(set(g)) for g in grant_sets)) or (
        bool(shared) and opens(set(shared))
    )


def match(
    session: Session,
    *,
    question: str,
    query_embedding: Sequence[float],
    grant_sets: Sequence[Sequence[str]],
    shared_grants: Sequence[str] = (),
) -> CuratedAnswer | None:
    """The approved correction answering this question for readers holding `grant_sets` (one set per
    reader, as in the knowledge read scope) or `shared_grants`, if any."""
    min_similarity = get_settings().corrections.match_similarity
    distance = Correction.question_embedding.cosine_distance(list(query_embedding))
    similarity = (1 - distance).label("similarity")
    candidates = session.execute(
        select(Correction, similarity)
        .where(
            Correction.status == "approved",
            or_(
                Correction.normalized_question == normalize_question(question),
                distance <= 1 - min_similarity,
            ),
        )
        .order_by(distance.nulls_last(), Correction.reviewed_at.desc())
        .limit(_MATCH_CANDIDATES)
    ).all()
    for correction, score in candidates:
        readable = _readable(correction, grant_sets, shared_grants)
        if correction.final_text and correction.reviewed_at and readable:
            return CuratedAnswer(
                correction_id=correction.id,
                text=correction.final_text,
                cited_chunk_ids=list(correction.cited_chunk_ids),
                reviewed_by=correction.reviewed_by,
                reviewed_at=correction.reviewed_at,
                similarity=1.0 if score is None else float(score),
            )
    return None
