"""`.eml` messages with the standard library's email package (policy.default): the body, then every
attachment parsed by its own loader, recursively; attached messages are messages again."""

from __future__ import annotations

import io
import platform
from collections.abc import Callable, Iterator
from email import policy
from email.message import EmailMessage, Message
from email.parser import BytesParser

from rag.errors import IngestRefused
from rag.loaders.base import Limits, ParsedDocument, Section, nonempty
from rag.loaders.markup import parse_html

Parse = Callable[..., ParsedDocument]


def parse_eml(data: bytes, *, name: str, limits: Limits, parse: Parse, depth: int = 0) -> ParsedDocument:
    message = BytesParser(policy=policy.default).parsebytes(data.lstrip(b"\r\n"))
    subject = str(message.get("subject", "") or "").strip()
    skipped: list[str] = []
    sections = list(_message_sections(message, limits=limits, parse=parse, depth=depth, skipped=skipped))
    return ParsedDocument(
        media_type="message/rfc822",
        parser="python-email",
        parser_version=platform.python_version(),
        title=subject or name,
        sections=list(nonempty(sections)),
        skipped=skipped,
    )


def _body_text(message: EmailMessage) -> Iterator[Section]:
    body = message.get_body(preferencelist=("plain", "html"))
    if body is None:
        return
    try:
        content = body.get_content()
    except (LookupError, ValueError, AssertionError):
        payload = body.get_payload(decode=True)
        content = payload.decode("utf-8", errors="replace") if isinstance(payload, bytes) else ""
    if not isinstance(content, str):
        return
    if body.get_content_type() == "text/html":
        yield from parse_html(content, name="body").sections
    else:
        yield Section(text=content)


def _message_sections(
    message: Message, *, limits: Limits, parse: Parse, depth: int, skipped: list[str]
) -> Iterator[Section]:
    if not isinstance(message, EmailMessage):
        return
    header = [f"{k}: {message[k]}" for k in ("From", "To", "Date", "Subject") if message.get(k)]
    if header:
        yield Section(text="\n".join(header), heading="message")
    yield from _body_text(message)
    for part in message.iter_attachments():
        yield from _attachment(part, limits=limits, parse=parse, depth=depth, skipped=skipped)


def _attachment(
    part: Message, *, limits: Limits, parse: Parse, depth: int, skipped: list[str]
) -> Iterator[Section]:
    filename = part.get_filename() or part.get_content_type()
    if depth >= limits.max_depth:
        skipped.append(f"{filename}: attachments nested deeper than {limits.max_depth} levels")
        return
    if part.get_content_type() == "message/rfc822":
        inner = part.get_payload()
        nested = inner[0] if isinstance(inner, list) and inner else None
        if isinstance(nested, Message):
            yield from _message_sections(nested, limits=limits, parse=parse, depth=depth + 1, skipped=skipped)
        return
    payload = part.get_payload(decode=True)
    if not isinstance(payload, bytes) or not payload:
        skipped.append(f"{filename}: empty")
        return
    try:
        parsed = parse(io.BytesIO(payload), name=filename, limits=limits, depth=depth + 1)
        inner_sections = list(parsed.sections)
    except IngestRefused as exc:
        skipped.append(f"{filename}: {exc.message}")
        return
    skipped.extend(f"{filename} / {s}" for s in parsed.skipped)
    for section in inner_sections:
        heading = f"{filename} / {section.heading}" if section.heading else filename
        yield Section(text=section.text, heading=heading, page=section.page)
