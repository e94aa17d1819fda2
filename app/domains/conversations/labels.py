"""What every front end says about how an answer was made, in the same words: reviewed by a person,
not found, extractive (quoted, not generated) or low confidence."""

from __future__ import annotations

from typing import Literal

from app.domains.conversations.schemas import AnswerOut

LOW_CONFIDENCE = 0.5
LabelKind = Literal["reviewed", "unanswered", "extractive", "low_confidence"]
LABELS: dict[LabelKind, str] = {
    "reviewed": "Reviewed by a person.",
    "unanswered": "I could not find this in the documents available here.",
    "extractive": "Extractive answer: the most relevant passages, quoted, not generated.",
    "low_confidence": "Low confidence: check the sources.",
}


def label_kind(answer: AnswerOut) -> LabelKind | None:
    if answer.mode == "curated":
        return "reviewed"
    if not answer.answered:
        return "unanswered"
    if answer.mode == "extractive":
        return "extractive"
    if answer.confidence < LOW_CONFIDENCE:
        return "low_confidence"
    return None
