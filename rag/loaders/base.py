"""What every loader produces: a document's title and its text sections, each with the page and heading
a citation should point to. Sections are produced lazily so large files are never held whole."""

from __future__ import annotations

import re
from collections.abc import Iterable, Iterator
from dataclasses import dataclass, field
from pathlib import Path

from rag.errors import IngestRefused

# Control characters other than tab and newlines: extractors emit them, PostgreSQL refuses NUL.
_CONTROL = re.compile(r"[\x00-\x08\x0b\x0c\x0e-\x1f\x7f]")
# Lone surrogates (undecodable bytes some decoders keep as escapes) cannot be encoded as UTF-8.
_SURROGATE = re.compile(r"[\ud800-\udfff]")


def clean_text(text: str) -> str:
    text = _SURROGATE.sub("\ufffd", text)
    return _CONTROL.sub("", text.replace("\r\n", "\n").replace("\r", "\n"))


@dataclass(frozen=True)
class Section:
    text: str
    heading: str | None = None
    page: int | None = None


@dataclass
class ParsedDocument:
    media_type: str
    parser: str
    parser_version: str
    title: str
    sections: Iterable[Section] = field(default_factory=list)
    page_count: int | None = None
    # Parts left out (e.g. an attachment of an unsupported type), with the reason, for the submitter.
    skipped: list[str] = field(default_factory=list)


@dataclass(frozen=True)
class Limits:
    max_pages: int
    max_depth: int = 3  # attachments inside attachments (.eml)


def best_title(declared: str | None, name: str) -> str:
    """A title declared in the file's metadata, else one made from the file name."""
    title = clean_text(declared or "").strip()
    return title or fallback_title(name)


def fallback_title(name: str) -> str:
    return Path(name).stem.replace("_", " ").replace("-", " ").strip() or name


def check_pages(count: int, limits: Limits, *, unit: str = "pages") -> None:
    if count > limits.max_pages:
        raise IngestRefused("too_many_pages", f"{count} {unit} is over the limit of {limits.max_pages}")


def nonempty(sections: Iterable[Section]) -> Iterator[Section]:
    """Sections cleaned of control characters, empty ones dropped."""
    for section in sections:
        text = clean_text(section.text).strip()
        if text:
            yield Section(text=text, heading=section.heading, page=section.page)


def corrupt(kind: str, exc: BaseException) -> IngestRefused:
    return IngestRefused("corrupt", f"the {kind} is damaged and cannot be read ({exc})")
