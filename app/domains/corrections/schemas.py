from __future__ import annotations

import uuid
from datetime import datetime

from pydantic import BaseModel, ConfigDict


class CorrectionOut(BaseModel):
    model_config = ConfigDict(from_attributes=True)

    id: uuid.UUID
    message_id: uuid.UUID
    answer_id: uuid.UUID | None
    question: str
    original_answer: str | None
    proposed_text: str
    final_text: str | None
    status: str
    channel: str
    submitted_by: uuid.UUID
    reviewed_by: uuid.UUID | None
    review_note: str | None
    created_at: datetime
    reviewed_at: datetime | None


class CuratedAnswer(BaseModel):
    """An approved correction that answers the question being asked."""

    correction_id: uuid.UUID
    text: str
    cited_chunk_ids: list[int]
    reviewed_by: uuid.UUID | None  # None when an operator reviewed it from the command line
    reviewed_at: datetime
    similarity: float
