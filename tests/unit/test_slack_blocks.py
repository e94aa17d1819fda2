"""Block Kit rendering of answers and Slack mrkdwn safety."""

from __future__ import annotations

import uuid
from datetime import UTC, datetime

from app.domains.conversations.schemas import AnswerOut, CitationOut
from integrations.slack import blocks


def _answer(text: str = "Annual leave is 4 hours per pay period [1].", **fields: object) -> AnswerOut:
    citation = CitationOut(
        number=1,
        title="Leave <policy>",
        source="https://handbook.example/leave",
        chunk_id=1,
        document_id=uuid.uuid4(),
        version_no=1,
        heading="Annual leave",
        page=None,
        score=0.8,
    )
    values: dict[str, object] = {
        "message_id": uuid.uuid4(),
        "question": "q",
        "answer": text,
        "mode": "generated",
        "answered": True,
        "confidence": 0.9,
        "fallback_reason": None,
        "model": "m",
        "citations": [citation],
        "latency_ms": 1.0,
    }
    values.update(fields)
    return AnswerOut.model_validate(values)


def test_mentions_and_broadcasts_arrive_as_text() -> None:
    unsafe = "Tell <!channel> and <!here|here> and <@U123> & @here @Channel @everyone: <https://evil|click>"
    safe = blocks.safe_mrkdwn(unsafe)
    assert "<" not in safe
    assert ">" not in safe
    assert "&lt;!channel&gt;" in safe
    assert "&amp;" in safe
    for word in ("here", "Channel", "everyone"):
        assert f"@{word}" not in safe
        assert f"@\u200b{word}" in safe


def test_an_answer_has_its_text_sources_and_buttons() -> None:
    answer = _answer("Ping <!channel> now")
    rendered = blocks.answer_blocks(answer, sources={})
    text = str(rendered)
    assert "&lt;!channel&gt;" in text
    assert "<!channel>" not in text
    assert "<https://handbook.example/leave|Leave &lt;policy&gt;>" in text
    actions = rendered[-1]["elements"]
    assert [a["action_id"] for a in actions] == [
        blocks.ACTION_FEEDBACK_UP,
        blocks.ACTION_FEEDBACK_DOWN,
        blocks.ACTION_SUGGEST,
        blocks.ACTION_ESCALATE,
    ]
    assert all(a["value"] == str(answer.message_id) for a in actions)
    private = blocks.answer_blocks(answer, sources={}, ephemeral=True)
    assert private[-1]["elements"][0]["action_id"] == blocks.ACTION_SHARE


def test_labels_say_how_the_answer_was_made() -> None:
    assert "Extractive" in str(blocks.answer_blocks(_answer(mode="extractive"), sources={}))
    assert "Low confidence" in str(blocks.answer_blocks(_answer(confidence=0.2), sources={}))
    assert "Reviewed by a person" in str(blocks.answer_blocks(_answer(mode="curated"), sources={}))
    assert "could not find" in str(blocks.answer_blocks(_answer(answered=False), sources={}))
    assert blocks.label(_answer()) is None


def test_stale_sources_are_flagged_with_their_date() -> None:
    old = blocks.SourceInfo(received_at=datetime(2020, 5, 1, tzinfo=UTC), stale=True)
    text = str(blocks.answer_blocks(_answer(), sources={1: old}))
    assert "2020-05-01" in text
    assert "may be out of date" in text


def test_long_answers_fit_in_a_section() -> None:
    rendered = blocks.answer_blocks(_answer("x" * 10_000), sources={})
    assert len(rendered[0]["text"]["text"]) == blocks.SECTION_LIMIT
