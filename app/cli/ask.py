"""`plinth ask`: ask a question as a user and print the cited answer."""

from __future__ import annotations

import json

import typer

from app.core.settings import get_settings
from app.domains.conversations import service as conversations
from app.domains.conversations.schemas import AnswerOut
from app.intake import submit_question
from workers import client

MODE_LABELS = {
    "generated": "Generated answer",
    "extractive": "Extractive answer (passages quoted from the documents; no language model)",
    "curated": "Reviewed answer (a correction approved by a person)",
}


def as_json(answer: AnswerOut) -> dict[str, object]:
    return {
        "message_id": str(answer.message_id),
        "answer": answer.answer,
        "mode": answer.mode,
        "answered": answer.answered,
        "confidence": round(answer.confidence, 4),
        "fallback_reason": answer.fallback_reason,
        "model": answer.model,
        "citations": [
            {
                "number": c.number,
                "title": c.title,
                "source": c.source,
                "chunk_id": c.chunk_id,
                "document_id": str(c.document_id),
                "version": c.version_no,
                "heading": c.heading,
                "page": c.page,
                "score": round(c.score, 4),
            }
            for c in answer.citations
        ],
        "latency_ms": round(answer.latency_ms, 1),
    }


def as_text(answer: AnswerOut) -> str:
    label = MODE_LABELS.get(answer.mode, answer.mode) if answer.answered else "No answer found"
    lines = [
        f"{label} · confidence {answer.confidence:.2f} · {answer.latency_ms:.0f} ms",
        "",
        answer.answer,
        "",
    ]
    if answer.citations:
        lines.append("Sources:" if answer.answered else "Nearest sources:")
        for c in answer.citations:
            where = ", ".join(x for x in (f"p. {c.page}" if c.page else "", c.heading or "") if x)
            lines.append(
                f"  [{c.number}] {c.title} ({c.source}{', ' + where if where else ''}) score {c.score:.2f}"
            )
    return "\n".join(lines)


def register(cli: typer.Typer) -> None:
    @cli.command()
    def ask(
        question: str = typer.Argument(..., help="The question."),
        as_user: str = typer.Option("cli", "--as", help="Ask as this user (their access applies)."),
        group: list[str] = typer.Option([], help="Groups of the user (repeatable)."),
        output_json: bool = typer.Option(False, "--json", help="Print one JSON object."),
        timeout: float = typer.Option(None, help="Seconds to wait for the answer."),
    ) -> None:
        """Ask a question through the worker and print the cited answer."""
        if client.is_busy():
            typer.echo(get_settings().queue.busy_notice, err=True)
        message_id = submit_question(question=question, user=as_user, groups=group or None, channel="cli")
        answer = conversations.wait_for_answer(
            message_id=message_id, timeout_s=timeout or get_settings().limits.answer_wait_s
        )
        typer.echo(json.dumps(as_json(answer), ensure_ascii=False) if output_json else as_text(answer))
