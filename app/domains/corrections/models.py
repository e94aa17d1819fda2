"""Corrections people suggest for answers, and their review."""

from __future__ import annotations

import uuid
from datetime import datetime

from pgvector.sqlalchemy import Vector
from sqlalchemy import DateTime, ForeignKey, Text
from sqlalchemy.dialects.postgresql import JSONB
from sqlalchemy.orm import Mapped, mapped_column

from app.core.db import Base, utcnow

QUESTION_EMBEDDING_DIMENSIONS = 384


class Correction(Base):
    """A suggested replacement for an answer. Once approved it is the answer to the same question
    (or one close enough in meaning) for everyone who may read the sources it corrects."""

    __tablename__ = "corrections"

    id: Mapped[uuid.UUID] = mapped_column(primary_key=True, default=uuid.uuid4)
    message_id: Mapped[uuid.UUID] = mapped_column(ForeignKey("messages.id"), index=True)
    answer_id: Mapped[uuid.UUID | None] = mapped_column(ForeignKey("answers.id", ondelete="SET NULL"))
    question: Mapped[str] = mapped_column(Text)
    normalized_question: Mapped[str] = mapped_column(Text, index=True)
    question_embedding: Mapped[list[float] | None] = mapped_column(Vector(QUESTION_EMBEDDING_DIMENSIONS))
    original_answer: Mapped[str | None] = mapped_column(Text)
    proposed_text: Mapped[str] = mapped_column(Text)
    final_text: Mapped[str | None] = mapped_column(Text)  # the text approved, possibly edited
    status: Mapped[str] = mapped_column(Text, default="pending", index=True)  # pending|approved|rejected
    # One access list per source the corrected answer cited: a reader must hold a grant from each.
    required_access: Mapped[list[list[str]]] = mapped_column(JSONB, default=list)
    cited_chunk_ids: Mapped[list[int]] = mapped_column(JSONB, default=list)
    channel: Mapped[str] = mapped_column(Text)
    submitted_by: Mapped[uuid.UUID] = mapped_column(ForeignKey("principals.id"))
    reviewed_by: Mapped[uuid.UUID | None] = mapped_column(ForeignKey("principals.id"))
    review_note: Mapped[str | None] = mapped_column(Text)
    created_at: Mapped[datetime] = mapped_column(DateTime(timezone=True), default=utcnow)
    reviewed_at: Mapped[datetime | None] = mapped_column(DateTime(timezone=True))
