"""Validation gates a file passes before anything of it is indexed, each refusing with a specific
reason: size, extractable text (scans need OCR, which is not enabled) and garbled text (a broken font
encoding or a wrong charset). Format-level gates (type, encryption, damage, page limit) sit in the
loaders, which are the ones that can tell."""

from __future__ import annotations

import unicodedata
from collections.abc import Iterable, Iterator
from dataclasses import dataclass

from rag.errors import IngestRefused
from rag.loaders import Section

NO_TEXT_MESSAGE = "the file has no extractable text (it may be a scanned image; OCR is not enabled)"
_BAD_CATEGORIES = {"Co", "Cn", "Cs", "Cc"}
_SAMPLE_CHARS = 50_000


@dataclass(frozen=True)
class GateLimits:
    max_file_bytes: int
    max_garbled_ratio: float = 0.15
    min_chars: int = 1


def check_size(size: int, limits: GateLimits) -> None:
    if size == 0:
        raise IngestRefused("empty", "the file is empty")
    if size > limits.max_file_bytes:
        raise IngestRefused("too_large", f"{size} bytes is over the limit of {limits.max_file_bytes} bytes")


def garbled_ratio(text: str) -> float:
    """Share of non-space characters that no language writes: replacement characters, private-use and
    unassigned code points, stray controls, and `(cid:N)` glyph references."""
    visible = [c for c in text if not c.isspace()]
    if not visible:
        return 0.0
    bad = sum(1 for c in visible if c == "\ufffd" or unicodedata.category(c) in _BAD_CATEGORIES)
    bad += text.count("(cid:") * 6
    return min(1.0, bad / len(visible))


def gated(sections: Iterable[Section], limits: GateLimits) -> Iterator[Section]:
    """The sections, refused as garbled once a sample of their text is mostly unreadable, or as having
    no text when none comes at all. Consumed lazily, so refusals can come mid-stream; callers keep
    everything in one transaction."""
    sample: list[str] = []
    sampled = 0
    checked = False
    seen = 0
    for section in sections:
        seen += len(section.text.strip())
        if not checked:
            sample.append(section.text)
            sampled += len(section.text)
            if sampled >= _SAMPLE_CHARS:
                _check_garbled("".join(sample), limits)
                checked = True
        yield section
    if seen < limits.min_chars:
        raise IngestRefused("no_text", NO_TEXT_MESSAGE)
    if not checked:
        _check_garbled("".join(sample), limits)


def _check_garbled(text: str, limits: GateLimits) -> None:
    ratio = garbled_ratio(text)
    if ratio > limits.max_garbled_ratio:
        raise IngestRefused(
            "garbled",
            f"the extracted text is garbled ({ratio:.0%} unreadable characters); the file may use a font "
            "without a text mapping — export it again as PDF with text, or as DOCX",
        )
