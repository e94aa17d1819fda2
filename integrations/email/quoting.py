"""The new text of a message: quoted replies and signatures stripped, inline forwarded messages
("---------- Forwarded message ---------", "Begin forwarded message:", Outlook's header block, the
French and Italian variants) split off as messages of their own."""

from __future__ import annotations

import re
from dataclasses import dataclass

FORWARD_SUBJECT = re.compile(r"^\s*((fwd?|fw|tr|wg|i|enc|rv)\s*:\s*)+", re.IGNORECASE)
REPLY_SUBJECT = re.compile(r"^\s*((re|aw|r|sv|antw)\s*:\s*)+", re.IGNORECASE)

_FORWARD_MARKERS = re.compile(
    r"^[ >]*(-{3,}\s*(forwarded message|message transf[ée]r[ée]|messaggio inoltrato|"
    r"weitergeleitete nachricht|mensaje reenviado)\s*-{3,}|begin forwarded message:)\s*$",
    re.IGNORECASE | re.MULTILINE,
)
_ORIGINAL = re.compile(
    r"^[ >]*(-{3,}\s*(original message|message d'origine|messaggio originale|urspr[üu]ngliche nachricht)"
    r"\s*-{3,}|_{20,})\s*$",
    re.IGNORECASE | re.MULTILINE,
)
_WRAPPED = r"[^\n]{1,300}?(?:\n[^\n]{1,300}?)?"  # an attribution line, perhaps wrapped once
_REPLY_INTRO = re.compile(
    rf"^(on\s{_WRAPPED}\swrote:|le\s{_WRAPPED}\sa\s[ée]crit\s?:|am\s{_WRAPPED}\sschrieb[^\n]{{0,80}}:|"
    rf"el\s{_WRAPPED}\sescribi[óo]:|il\s{_WRAPPED}\sha\sscritto:|[^\n]{{1,200}}\s<[^>\n]+@[^>\n]+>\s(wrote|schrieb):)\s*$",
    re.IGNORECASE | re.MULTILINE,
)
_SIGNATURE = re.compile(r"^-- ?$", re.MULTILINE)
_FIELD = re.compile(r"^\*?([\w\-À-ÿ ]{2,20}):\*?\s*(.*)$")
_SENDER_FIELDS = {"from", "de", "da", "von", "van"}
_SUBJECT_FIELDS = {"subject", "objet", "oggetto", "betreff", "asunto", "onderwerp"}
_DATE_FIELDS = {"date", "sent", "envoyé", "inviato", "gesendet", "enviado", "data"}


@dataclass(frozen=True)
class InlineForward:
    sender: str | None
    subject: str | None
    date: str | None
    text: str


def _header_block(text: str) -> int | None:
    """Where a block of 3+ "Field: value" lines naming a sender and a subject or date begins (the
    header block clients put above a forwarded or quoted message, in any language)."""
    lines = text.splitlines(keepends=True)
    offset = 0
    for index in range(len(lines)):
        names = []
        for line in lines[index : index + 8]:
            found = _FIELD.match(line.strip())
            if found is None:
                break
            names.append(found.group(1).strip().lower())
        if len(names) >= 3 and _SENDER_FIELDS & set(names) and (_SUBJECT_FIELDS | _DATE_FIELDS) & set(names):
            return offset
        offset += len(lines[index])
    return None


def _earliest(text: str, *patterns: re.Pattern[str], header_block: bool) -> tuple[int, int] | None:
    """(start, end) of the earliest marker; a header block is kept with what follows it (end = start)."""
    found = [(m.start(), m.end()) for p in patterns if (m := p.search(text)) is not None]
    if header_block and (start := _header_block(text)) is not None:
        found.append((start, start))
    return min(found) if found else None


def split_forwards(text: str, *, subject: str) -> tuple[str, list[InlineForward]]:
    """(the sender's own text, the messages forwarded inline below it)."""
    is_forward = bool(FORWARD_SUBJECT.match(subject or ""))
    markers = [_FORWARD_MARKERS, _ORIGINAL] if is_forward else [_FORWARD_MARKERS]
    span = _earliest(text, *markers, header_block=is_forward)
    if span is None:
        return text, []
    forwarded, more = _forwarded_block(text[span[1] :], subject=subject)
    return text[: span[0]], [forwarded, *more]


def _forwarded_block(text: str, *, subject: str) -> tuple[InlineForward, list[InlineForward]]:
    lines = [line.lstrip("> ") if line.startswith(">") else line for line in text.lstrip("\n").splitlines()]
    fields: dict[str, str] = {}
    index = 0
    for index, line in enumerate(lines):  # noqa: B007 - the index after the header block is used below
        found = _FIELD.match(line.strip())
        if not line.strip() or found is None:
            break
        fields.setdefault(found.group(1).strip().lower(), found.group(2).strip())
    body = "\n".join(lines[index:]).strip()
    inner_subject = next((v for k, v in fields.items() if k in _SUBJECT_FIELDS), None)
    body, nested = split_forwards(body, subject=inner_subject or subject)
    return (
        InlineForward(
            sender=next((v for k, v in fields.items() if k in _SENDER_FIELDS), None),
            subject=inner_subject,
            date=next((v for k, v in fields.items() if k in _DATE_FIELDS), None),
            text=body.strip(),
        ),
        nested,
    )


def strip_reply(text: str) -> str:
    """The text above the quoted message and the signature; '>'-quoted lines dropped."""
    span = _earliest(text, _REPLY_INTRO, _ORIGINAL, header_block=True)
    if span is not None:
        text = text[: span[0]]
    signature = _SIGNATURE.search(text)
    if signature is not None:
        text = text[: signature.start()]
    lines = [line for line in text.splitlines() if not line.lstrip().startswith(">")]
    return re.sub(r"\n{3,}", "\n\n", "\n".join(lines)).strip()


def clean_subject(subject: str) -> str:
    """The subject without Re:/Fwd: prefixes."""
    previous = None
    while previous != subject:
        previous = subject
        subject = FORWARD_SUBJECT.sub("", REPLY_SUBJECT.sub("", subject))
    return subject.strip()
