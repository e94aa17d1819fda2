"""Block Kit for answers, and mrkdwn safety: whatever a document or a model wrote, nothing Plinth posts
pings a channel, a group or a person, or renders as a link it did not make."""

from __future__ import annotations

import re
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime
from typing import Any

from app.domains.conversations import labels
from app.domains.conversations.schemas import AnswerOut

SECTION_LIMIT = 3000  # characters Slack accepts in one section's text
_BROADCAST = re.compile(r"@(?=(here|channel|everyone)\b)", re.IGNORECASE)

ACTION_FEEDBACK_UP = "plinth_feedback_up"
ACTION_FEEDBACK_DOWN = "plinth_feedback_down"
ACTION_SUGGEST = "plinth_suggest_correction"
ACTION_ESCALATE = "plinth_escalate"
ACTION_SHARE = "plinth_share"
VIEW_CORRECTION = "plinth_correction"
VIEW_FEEDBACK_REASON = "plinth_feedback_reason"


def safe_mrkdwn(text: str) -> str:
    """Escape Slack's control characters, so `<!channel>`, `<@U123>` and `<http://x|y>` arrive as text,
    and break bare @here/@channel/@everyone with a zero-width space."""
    escaped = text.replace("&", "&amp;").replace("<", "&lt;").replace(">", "&gt;")
    return _BROADCAST.sub("@\u200b", escaped)


def _truncate(text: str, limit: int) -> str:
    return text if len(text) <= limit else text[: limit - 1] + "…"


@dataclass(frozen=True)
class SourceInfo:
    """What the replier knows about a cited source beyond the citation itself."""

    received_at: datetime | None
    stale: bool


def _source_line(citation: Any, info: SourceInfo | None) -> str:
    title = safe_mrkdwn(citation.title).replace("|", "¦")
    source = citation.source
    label = f"<{source}|{title}>" if re.match(r"^https?://[^\s<>|]+$", source) else f"*{title}*"
    parts = [f"[{citation.number}] {label}"]
    if citation.heading:
        parts.append(safe_mrkdwn(citation.heading))
    if citation.page:
        parts.append(f"p. {citation.page}")
    if info and info.received_at:
        parts.append(info.received_at.date().isoformat())
    return " · ".join(parts)


_EMOJI: dict[labels.LabelKind, str] = {
    "reviewed": ":white_check_mark:",
    "unanswered": ":grey_question:",
    "extractive": ":page_facing_up:",
    "low_confidence": ":warning:",
}


def label(answer: AnswerOut) -> str | None:
    kind = labels.label_kind(answer)
    return f"{_EMOJI[kind]} {labels.LABELS[kind]}" if kind else None


def answer_blocks(
    answer: AnswerOut, *, sources: dict[int, SourceInfo], ephemeral: bool = False
) -> list[dict[str, Any]]:
    """The answer, its label, its sources (with a stale-source warning) and the buttons."""
    value = str(answer.message_id)
    blocks: list[dict[str, Any]] = [
        {
            "type": "section",
            "text": {"type": "mrkdwn", "text": _truncate(safe_mrkdwn(answer.answer), SECTION_LIMIT)},
        }
    ]
    notes = [note] if (note := label(answer)) else []
    stale = [c.number for c in answer.citations if (info := sources.get(c.number)) and info.stale]
    if stale:
        numbers = ", ".join(f"[{n}]" for n in stale)
        notes.append(f":hourglass: Source {numbers} may be out of date: check it before relying on it.")
    if notes:
        blocks.append({"type": "context", "elements": [{"type": "mrkdwn", "text": n} for n in notes]})
    if answer.citations:
        lines = [_source_line(c, sources.get(c.number)) for c in answer.citations[:8]]
        blocks.append(
            {
                "type": "context",
                "elements": [{"type": "mrkdwn", "text": _truncate("\n".join(lines), SECTION_LIMIT)}],
            }
        )
    buttons: list[dict[str, Any]] = []
    if ephemeral:
        buttons.append(_button("Share in channel", ACTION_SHARE, value, style="primary"))
    buttons += [
        _button("👍", ACTION_FEEDBACK_UP, value),
        _button("👎", ACTION_FEEDBACK_DOWN, value),
        _button("Suggest a correction", ACTION_SUGGEST, value),
        _button("Escalate to a human", ACTION_ESCALATE, value),
    ]
    blocks.append({"type": "actions", "block_id": "plinth_answer_actions", "elements": buttons})
    return blocks


def _button(text: str, action_id: str, value: str, style: str | None = None) -> dict[str, Any]:
    button: dict[str, Any] = {
        "type": "button",
        "text": {"type": "plain_text", "text": text, "emoji": True},
        "action_id": action_id,
        "value": value,
    }
    if style:
        button["style"] = style
    return button


def fallback_text(answer: AnswerOut) -> str:
    """The notification text (shown where blocks are not)."""
    return _truncate(safe_mrkdwn(answer.answer), 300)


def notice_blocks(text: str) -> list[dict[str, Any]]:
    return [{"type": "section", "text": {"type": "mrkdwn", "text": safe_mrkdwn(text)}}]


def _section(text: str) -> dict[str, Any]:
    return {"type": "section", "text": {"type": "mrkdwn", "text": _truncate(text, SECTION_LIMIT)}}


def _modal(
    *, callback_id: str, message_id: str, title: str, submit: str, close: str, fields: list[dict[str, Any]]
) -> dict[str, Any]:
    return {
        "type": "modal",
        "callback_id": callback_id,
        "private_metadata": message_id,
        "title": {"type": "plain_text", "text": title},
        "submit": {"type": "plain_text", "text": submit},
        "close": {"type": "plain_text", "text": close},
        "blocks": fields,
    }


def _text_input(block_id: str, label: str, *, optional: bool) -> dict[str, Any]:
    return {
        "type": "input",
        "block_id": block_id,
        "optional": optional,
        "label": {"type": "plain_text", "text": label},
        "element": {"type": "plain_text_input", "action_id": "text", "multiline": True},
    }


def correction_modal(*, message_id: str, question: str, answer: str) -> dict[str, Any]:
    return _modal(
        callback_id=VIEW_CORRECTION,
        message_id=message_id,
        title="Suggest a correction",
        submit="Send for review",
        close="Cancel",
        fields=[
            _section(f"*Question:* {safe_mrkdwn(question)}"),
            _section(f"*Answer:* {safe_mrkdwn(answer)}"),
            _text_input("correction", "What should the answer say?", optional=False),
        ],
    )


def feedback_reason_modal(*, message_id: str) -> dict[str, Any]:
    return _modal(
        callback_id=VIEW_FEEDBACK_REASON,
        message_id=message_id,
        title="What was wrong?",
        submit="Send",
        close="Skip",
        fields=[_text_input("reason", "Reason (optional)", optional=True)],
    )


def escalation_blocks(
    *, question: str, answer: str | None, link: str | None, asker: str
) -> list[dict[str, Any]]:
    parts = [f"*Escalated by <@{asker}>*" if re.match(r"^[UW][A-Z0-9]+$", asker) else "*Escalated*"]
    parts.append(f"*Question:* {safe_mrkdwn(question)}")
    parts.append(f"*Answer:* {safe_mrkdwn(answer)}" if answer else "*Answer:* none yet")
    if link:
        parts.append(f"<{link}|Open the conversation>")
    return [
        {"type": "section", "text": {"type": "mrkdwn", "text": _truncate("\n".join(parts), SECTION_LIMIT)}}
    ]


def home_view(*, recent: Sequence[tuple[str, str]], asked: int, rated: int) -> dict[str, Any]:
    """The App Home tab: how to use Plinth, the person's recent questions and usage."""
    how = (
        "*How to use Plinth*\n• Mention me in a channel: `@Plinth how many leave days do I get?`\n"
        "• Send me a direct message, or use `/ask` for a private answer.\n"
        "• On any message: ⋯ → *Ask Plinth about this*.\n• Share a document with me in a DM to add it."
    )
    blocks: list[dict[str, Any]] = [
        {"type": "section", "text": {"type": "mrkdwn", "text": how}},
        {"type": "divider"},
        {
            "type": "section",
            "text": {"type": "mrkdwn", "text": f"*Your usage:* {asked} questions, {rated} rated"},
        },
        {"type": "header", "text": {"type": "plain_text", "text": "Your recent questions"}},
    ]
    if not recent:
        blocks.append({"type": "context", "elements": [{"type": "mrkdwn", "text": "No questions yet."}]})
    for question, status in recent:
        blocks.append(
            {
                "type": "section",
                "text": {
                    "type": "mrkdwn",
                    "text": _truncate(f"• {safe_mrkdwn(question)} — _{status}_", SECTION_LIMIT),
                },
            }
        )
    return {"type": "home", "blocks": blocks}
