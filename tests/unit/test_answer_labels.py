"""Slack and email label an answer in the same words."""

from __future__ import annotations

import uuid

import pytest

from app.domains.conversations import labels
from app.domains.conversations.schemas import AnswerOut
from integrations.email.rendering import Thread, answer_reply
from integrations.slack.blocks import label as slack_label


def _answer(*, mode: str, answered: bool = True, confidence: float = 0.9) -> AnswerOut:
    return AnswerOut(
        message_id=uuid.uuid4(),
        question="When is payday?",
        answer="Every other Friday.",
        mode=mode,
        answered=answered,
        confidence=confidence,
        fallback_reason=None,
        model=None,
        citations=[],
        latency_ms=10.0,
    )


def _email_text(answer: AnswerOut) -> str:
    thread = Thread(to="a@example.com", subject="Payday", message_id="<q@example.com>", references=[])
    reply = answer_reply(
        answer, thread=thread, our_id="<r@plinth.local>", from_address="ask@plinth.local", console_url=None
    )
    return reply.get_body(("plain",)).get_content()  # type: ignore[union-attr]


@pytest.mark.parametrize(
    ("answer", "kind"),
    [
        (_answer(mode="curated"), "reviewed"),
        (_answer(mode="extractive"), "extractive"),
        (_answer(mode="generated", confidence=0.2), "low_confidence"),
        (_answer(mode="extractive", answered=False), "unanswered"),
    ],
)
def test_both_front_ends_say_the_same(answer: AnswerOut, kind: str) -> None:
    text = labels.LABELS[kind]  # type: ignore[index]
    assert labels.label_kind(answer) == kind
    assert (slack_label(answer) or "").endswith(text)
    assert text in _email_text(answer)


def test_a_confident_generated_answer_carries_no_label() -> None:
    answer = _answer(mode="generated")
    assert labels.label_kind(answer) is None
    assert slack_label(answer) is None
    assert not any(text in _email_text(answer) for text in labels.LABELS.values())
