"""Parse raw mail with the standard library's modern policy into what Plinth acts on: headers that
matter for trust and loops, the sender's new text (quotes stripped, HTML turned to text, any charset),
forwarded messages (attached message/rfc822 parts and inline blocks) and attachments at any depth.
Broken MIME is read as far as it goes; only limits (nesting, part count) refuse a message."""

from __future__ import annotations

import codecs
import email
import email.message
import re
from dataclasses import dataclass, field
from email import policy
from email.header import decode_header, make_header
from email.utils import getaddresses

from charset_normalizer import from_bytes

from app.core.errors import InvalidInput
from app.core.settings.front_ends import EmailSettings
from integrations.email.htmltext import html_to_text
from integrations.email.quoting import split_forwards, strip_reply

_SKIPPED_TYPES = {
    "application/pkcs7-signature",
    "application/x-pkcs7-signature",
    "application/pgp-signature",
    "application/pgp-keys",
    "message/delivery-status",
    "message/disposition-notification",
    "message/feedback-report",
    "text/rfc822-headers",
    "message/external-body",
}
_ENCRYPTED_TYPES = {"multipart/encrypted", "application/pkcs7-mime", "application/x-pkcs7-mime"}
_MESSAGE_TYPES = {"message/rfc822", "message/news", "message/global"}


class MailRefused(InvalidInput):
    """The message cannot be processed at all; the reason is a stable code."""

    def __init__(self, reason: str, message: str) -> None:
        super().__init__(message, code=f"email.{reason}")
        self.reason = reason


@dataclass(frozen=True)
class Attachment:
    name: str
    content_type: str
    data: bytes
    depth: int


@dataclass
class Forwarded:
    sender: str | None
    subject: str | None
    date: str | None
    text: str
    attachments: list[Attachment] = field(default_factory=list)


@dataclass
class ParsedMail:
    headers: dict[str, list[str]]  # lower-cased name → values, top first
    sender: str | None  # the From address, lower-cased
    sender_name: str | None
    from_count: int
    subject: str
    message_id: str | None
    in_reply_to: str | None
    references: list[str]
    content_type: str
    report_type: str | None
    text: str  # the sender's own new text
    forwarded: list[Forwarded] = field(default_factory=list)
    attachments: list[Attachment] = field(default_factory=list)
    encrypted: bool = False
    reports: list[dict[str, str]] = field(default_factory=list)  # per-recipient DSN / MDN fields

    def header(self, name: str) -> str | None:
        values = self.headers.get(name.lower())
        return values[0] if values else None


def decode_text(part: email.message.Message) -> str:
    """A text part's content in whatever charset it is (declared, mislabelled or missing)."""
    payload = part.get_payload(decode=True)
    if not isinstance(payload, bytes):
        return str(part.get_payload() or "")
    charset = part.get_content_charset()
    if charset:
        try:
            codecs.lookup(charset)
            return payload.decode(charset)
        except (LookupError, UnicodeDecodeError):
            pass
    try:
        return payload.decode("utf-8")
    except UnicodeDecodeError:
        best = from_bytes(payload).best()
        return str(best) if best is not None else payload.decode("latin-1")


def _header_text(message: email.message.Message, name: str, raw: str) -> str:
    """A header's decoded text; a header the modern parser chokes on is decoded loosely instead."""
    try:
        return str(message.policy.header_fetch_parse(name, raw))
    except Exception:  # the header parser raises IndexError, HeaderParseError... on broken values
        try:
            return str(make_header(decode_header(raw)))
        except Exception:  # undecodable encoded words: keep the raw text
            return raw


def _raw_headers(message: email.message.Message) -> dict[str, list[str]]:
    headers: dict[str, list[str]] = {}
    for name, raw in message.raw_items():
        headers.setdefault(name.lower(), []).append(" ".join(_header_text(message, name, str(raw)).split()))
    return headers


def _first(headers: dict[str, list[str]], name: str) -> str | None:
    values = headers.get(name)
    return values[0] if values else None


def _ids(value: str | None) -> list[str]:
    return re.findall(r"<[^<>\s]+>", value or "")


def _is_attachment(part: email.message.Message) -> bool:
    disposition = (part.get_content_disposition() or "").lower()
    return disposition == "attachment" or bool(part.get_filename())


def _filename(part: email.message.Message, counter: int) -> str:
    try:
        name = part.get_filename()
    except Exception:  # a broken RFC 2231 / 2047 parameter
        name = None
    if name:
        return " ".join(str(name).split()).replace("/", "_")
    subtype = part.get_content_subtype() or "bin"
    return f"attachment-{counter}.{subtype}"


class _Walker:
    def __init__(self, limits: EmailSettings) -> None:
        self.limits = limits
        self.parts = 0
        self.encrypted = False
        self.reports: list[dict[str, str]] = []

    def count(self, depth: int) -> None:
        self.parts += 1
        if depth > self.limits.max_mime_depth:
            raise MailRefused(
                "mime.too_deep", f"MIME parts are nested more than {self.limits.max_mime_depth} deep"
            )
        if self.parts > self.limits.max_mime_parts:
            raise MailRefused("mime.too_many_parts", f"more than {self.limits.max_mime_parts} MIME parts")

    def body(self, part: email.message.Message, depth: int) -> str:
        """The readable text of one message scope (not descending into attached messages)."""
        content_type = part.get_content_type()
        if part.is_multipart() and content_type not in _MESSAGE_TYPES:
            children = [c for c in part.get_payload() if isinstance(c, email.message.Message)]
            if content_type == "multipart/alternative":
                ranked = sorted(
                    children, key=lambda c: {"text/plain": 0, "text/html": 1}.get(c.get_content_type(), 2)
                )
                return next((t for c in ranked if (t := self.body(c, depth + 1).strip())), "")
            texts = [self.body(c, depth + 1) for c in children if not _is_attachment(c)]
            return "\n\n".join(t for t in texts if t.strip())
        if _is_attachment(part) or part.get_content_maintype() != "text":
            return ""
        text = decode_text(part)
        return html_to_text(text, drop_quotes=True) if part.get_content_subtype() == "html" else text

    def collect(
        self, part: email.message.Message, depth: int, out: list[Attachment], forwarded: list[Forwarded]
    ) -> None:
        """Attachments and attached messages below `part`, in order."""
        self.count(depth)
        content_type = part.get_content_type()
        if content_type in _ENCRYPTED_TYPES:
            self.encrypted = True
            return
        if content_type in _MESSAGE_TYPES:
            inner = part.get_payload(0) if part.is_multipart() else None
            if isinstance(inner, email.message.Message):
                forwarded.append(self.forwarded(inner, depth + 1))
            return
        if content_type in ("message/delivery-status", "message/disposition-notification"):
            self.reports.extend(_report_fields(part))
            return
        if part.is_multipart():
            parent_alternative = content_type == "multipart/alternative"
            for child in part.get_payload():
                if not isinstance(child, email.message.Message):
                    continue
                if parent_alternative and not _is_attachment(child) and not child.is_multipart():
                    continue
                self.collect(child, depth + 1, out, forwarded)
            return
        if content_type in _SKIPPED_TYPES:
            return
        inline_body = not _is_attachment(part) and part.get_content_maintype() == "text"
        inline_image = (
            part.get_content_maintype() == "image" and part.get("Content-ID") and not part.get_filename()
        )
        if inline_body or inline_image:
            return
        data = part.get_payload(decode=True)
        if isinstance(data, bytes) and data:
            out.append(Attachment(_filename(part, len(out) + 1), content_type, data, depth))

    def forwarded(self, message: email.message.Message, depth: int) -> Forwarded:
        headers = _raw_headers(message)
        item = Forwarded(
            sender=_first(headers, "from"),
            subject=_first(headers, "subject"),
            date=_first(headers, "date"),
            text=self.body(message, depth).strip(),
        )
        nested: list[Forwarded] = []
        self.collect(message, depth, item.attachments, nested)
        return item


def _report_fields(part: email.message.Message) -> list[dict[str, str]]:
    blocks = part.get_payload() if part.is_multipart() else []
    found = []
    for block in blocks:
        if isinstance(block, email.message.Message):
            fields = {k.lower(): " ".join(str(v).split()) for k, v in block.items()}
            if {"final-recipient", "original-recipient", "action", "status", "disposition"} & set(fields):
                found.append(fields)
    if not found:  # some servers send the status fields as the part's text
        text = decode_text(part)
        fields = {
            m.group(1).lower(): m.group(2).strip() for m in re.finditer(r"^([\w-]+):\s*(.+)$", text, re.M)
        }
        if fields:
            found.append(fields)
    return found


def normalise_raw(raw: bytes) -> bytes:
    """Undo whole-message wrappers we have seen: a UTF-16 encoded file, a blank line before headers."""
    if raw.startswith((codecs.BOM_UTF16_LE, codecs.BOM_UTF16_BE)):
        raw = raw.decode("utf-16").encode("utf-8")
    return raw.lstrip(b"\r\n")


def parse(raw: bytes, *, limits: EmailSettings) -> ParsedMail:
    """Raises MailRefused when a limit is exceeded."""
    message = email.message_from_bytes(normalise_raw(raw), policy=policy.default)
    headers = _raw_headers(message)
    from_values = headers.get("from", [])
    addresses = [(n, a.lower()) for n, a in getaddresses(from_values) if "@" in a]
    subject = (headers.get("subject") or [""])[0]
    walker = _Walker(limits)
    attachments: list[Attachment] = []
    forwarded: list[Forwarded] = []
    walker.collect(message, 0, attachments, forwarded)
    own, inline = split_forwards(walker.body(message, 0), subject=subject)
    forwarded = [Forwarded(f.sender, f.subject, f.date, f.text) for f in inline] + forwarded
    report_type = (
        message.get_param("report-type") if message.get_content_type() == "multipart/report" else None
    )
    return ParsedMail(
        headers=headers,
        sender=addresses[0][1] if addresses else None,
        sender_name=addresses[0][0] or None if addresses else None,
        from_count=len(from_values),
        subject=subject,
        message_id=next(iter(_ids((headers.get("message-id") or [""])[0])), None),
        in_reply_to=next(iter(_ids((headers.get("in-reply-to") or [""])[0])), None),
        references=_ids(" ".join(headers.get("references", []))),
        content_type=message.get_content_type(),
        report_type=str(report_type).lower() if report_type else None,
        text=strip_reply(own),
        forwarded=forwarded,
        attachments=attachments,
        encrypted=walker.encrypted,
        reports=walker.reports,
    )
