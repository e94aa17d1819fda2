"""Outgoing mail: replies in the sender's thread (In-Reply-To, References, Re: subject), plain text and
HTML alternatives with everything HTML-escaped, citations as numbered links, and the headers that keep
other robots from answering us (RFC 3834 Auto-Submitted, X-Loop)."""

from __future__ import annotations

import html
from collections.abc import Sequence
from dataclasses import dataclass
from email.message import EmailMessage
from email.utils import formatdate

from app.domains.conversations import labels
from app.domains.conversations.schemas import AnswerOut
from integrations.email.quoting import REPLY_SUBJECT

FEEDBACK_HELP = (
    'Reply "helpful" or "not helpful" to rate this answer, or "human" to hand the question to a person.'
)


@dataclass(frozen=True)
class Thread:
    to: str
    subject: str
    message_id: str | None  # the message we answer
    references: Sequence[str]


def thread_headers(message: EmailMessage, *, thread: Thread, our_id: str, from_address: str) -> None:
    message["From"] = from_address
    message["To"] = thread.to
    message["Subject"] = thread.subject if REPLY_SUBJECT.match(thread.subject) else f"Re: {thread.subject}"
    message["Date"] = formatdate(localtime=False, usegmt=True)
    message["Message-ID"] = our_id
    if thread.message_id:
        message["In-Reply-To"] = thread.message_id
        message["References"] = " ".join([*thread.references, thread.message_id][-20:])
    message["Auto-Submitted"] = "auto-replied"
    message["X-Auto-Response-Suppress"] = "All"
    message["X-Loop"] = from_address


def _alternatives(message: EmailMessage, text: str, body_html: str) -> None:
    message.set_content(text)
    page = f'<!doctype html><html><body style="font-family:sans-serif">{body_html}</body></html>'
    message.add_alternative(page, subtype="html")


def _paragraphs(text: str) -> str:
    return "".join(
        f"<p>{html.escape(p).replace(chr(10), '<br>')}</p>" for p in text.split("\n\n") if p.strip()
    )


def answer_reply(
    answer: AnswerOut, *, thread: Thread, our_id: str, from_address: str, console_url: str | None
) -> EmailMessage:
    message = EmailMessage()
    thread_headers(message, thread=thread, our_id=our_id, from_address=from_address)
    link = f"{console_url}/conversations/{answer.message_id}" if console_url else None
    kind = labels.label_kind(answer)
    lines = [answer.answer if answer.answered else labels.LABELS["unanswered"]]
    parts = [_paragraphs(lines[0])]
    # The same labels as in Slack, and the reason when the model's answer was not used.
    notes = [labels.LABELS[kind]] if kind not in {None, "unanswered"} else []
    if answer.fallback_reason:
        notes.append(answer.fallback_reason)
    if notes:
        note = " ".join(notes)
        lines += ["", note]
        parts.append(f"<p><em>{html.escape(note)}</em></p>")
    if answer.citations:
        lines += ["", "Sources:"]
        items = []
        for c in answer.citations:
            where = (f", page {c.page}" if c.page else "") + (" (past its review date)" if c.stale else "")
            target = (
                c.source if c.source.startswith(("https://", "http://")) else (link and f"{link}#c{c.number}")
            )
            lines.append(f"[{c.number}] {c.title}{where}" + (f" <{target}>" if target else ""))
            label = html.escape(f"{c.title}{where}")
            anchor = f'<a href="{html.escape(target, quote=True)}">{label}</a>' if target else label
            items.append(f'<li value="{c.number}">{anchor}</li>')
        parts.append(f"<p>Sources:</p><ol>{''.join(items)}</ol>")
    help_text = FEEDBACK_HELP + (f" Or open {link}" if link else "")
    lines += ["", "--", help_text]
    footer = html.escape(FEEDBACK_HELP)
    if link:
        footer += f' <a href="{html.escape(link, quote=True)}">Open in the console</a>'
    parts.append(f'<hr><p style="color:#666">{footer}</p>')
    _alternatives(message, "\n".join(lines) + "\n", "".join(parts))
    return message


@dataclass(frozen=True)
class FileOutcome:
    name: str
    accepted: bool
    detail: str  # "new document, 12 passages" or the refusal reason


def receipt_reply(
    outcomes: Sequence[FileOutcome], *, thread: Thread, our_id: str, from_address: str
) -> EmailMessage:
    message = EmailMessage()
    thread_headers(message, thread=thread, our_id=our_id, from_address=from_address)
    accepted = [o for o in outcomes if o.accepted]
    refused = [o for o in outcomes if not o.accepted]
    lines = [f"Thank you. {len(accepted)} of {len(outcomes)} file(s) were added to the knowledge base."]
    parts = [f"<p>{html.escape(lines[0])}</p>"]
    for title, group in (("Accepted", accepted), ("Refused", refused)):
        if not group:
            continue
        lines += ["", f"{title}:"] + [f"- {o.name}: {o.detail}" for o in group]
        items = "".join(f"<li><b>{html.escape(o.name)}</b>: {html.escape(o.detail)}</li>" for o in group)
        parts.append(f"<p>{title}:</p><ul>{items}</ul>")
    if accepted:
        note = "Only you can read these documents until they are shared."
        lines += ["", note]
        parts.append(f"<p>{html.escape(note)}</p>")
    _alternatives(message, "\n".join(lines) + "\n", "".join(parts))
    return message
