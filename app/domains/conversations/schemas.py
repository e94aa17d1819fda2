from __future__ import annotations

import uuid

from pydantic import BaseModel, ConfigDict


class CitationOut(BaseModel):
    model_config = ConfigDict(from_attributes=True)

    number: int
    title: str
    source: str
    chunk_id: int
    document_id: uuid.UUID
    version_no: int
    heading: str | None
    page: int | None
    score: float
    stale: bool = False  # the document is past its review or expiry date (as of reading the answer)


class AnswerOut(BaseModel):
    message_id: uuid.UUID
    question: str
    answer: str
    mode: str
    answered: bool
    confidence: float
    fallback_reason: str | None
    model: str | None
    citations: list[CitationOut]
    latency_ms: float  # from receipt of the question to the stored answer


class InboundReceipt(BaseModel):
    message_id: uuid.UUID
    correlation_id: str
    duplicate: bool


class AnswerSummary(BaseModel):
    model_config = ConfigDict(from_attributes=True)

    id: uuid.UUID
    mode: str
    answered: bool
