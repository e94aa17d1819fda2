"""Turn original bytes into text sections (with page and heading) ready for chunking.

The type is detected from the content, never from the file name."""

from __future__ import annotations

import codecs
import re
from collections.abc import Iterator
from dataclasses import dataclass, field
from importlib.metadata import version
from pathlib import Path
from typing import BinaryIO

from pypdf import PdfReader
from pypdf.errors import PdfReadError

from rag.errors import IngestRefused

_TEXT_PROBE_BYTES = 64 * 1024
_MARKDOWN_HINT = re.compile(r"^(#{1,6} \S|[-*] \S|```|\d+\. \S)", re.MULTILINE)
# Control characters other than tab and newlines: PDF extraction emits them, PostgreSQL refuses NUL.
_CONTROL = re.compile(r"[\x00-\x08\x0b\x0c\x0e-\x1f\x7f]")


def clean_text(text: str) -> str:
    return _CONTROL.sub("", text.replace("\r\n", "\n"))


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
    sections: list[Section] = field(default_factory=list)
    page_count: int | None = None


def sniff_media_type(head: bytes) -> str:
    """The media type of a file from its first bytes."""
    if head.startswith(b"%PDF-"):
        return "application/pdf"
    text = _decode_text(head, probe=True)
    if text is not None:
        return "text/markdown" if _MARKDOWN_HINT.search(text) else "text/plain"
    return "application/octet-stream"


def _decode_text(data: bytes, *, probe: bool = False) -> str | None:
    """Decode text in UTF-8 or a BOM-marked UTF-16/32, or None when it is not text."""
    for bom, encoding in (
        (codecs.BOM_UTF32_LE, "utf-32"),
        (codecs.BOM_UTF32_BE, "utf-32"),
        (codecs.BOM_UTF8, "utf-8-sig"),
        (codecs.BOM_UTF16_LE, "utf-16"),
        (codecs.BOM_UTF16_BE, "utf-16"),
    ):
        if data.startswith(bom):
            return data.decode(encoding, errors="replace" if probe else "strict")
    try:
        text = data.decode("utf-8")
    except UnicodeDecodeError as exc:
        # A probe may end inside a multi-byte character.
        if not (probe and exc.start >= len(data) - 3):
            return None
        text = data[: exc.start].decode("utf-8")
    if "\x00" in text:
        return None
    return text


def parse(stream: BinaryIO, *, name: str, max_pages: int) -> ParsedDocument:
    head = stream.read(_TEXT_PROBE_BYTES)
    stream.seek(0)
    media_type = sniff_media_type(head)
    if media_type == "application/pdf":
        return _parse_pdf(stream, name=name, max_pages=max_pages)
    if media_type in ("text/plain", "text/markdown"):
        return _parse_text(stream.read(), name=name, media_type=media_type)
    raise IngestRefused(
        "unsupported_type", "unsupported file type: only PDF, Markdown and plain text are accepted"
    )


def _fallback_title(name: str) -> str:
    return Path(name).stem.replace("_", " ").replace("-", " ").strip() or name


def _parse_text(data: bytes, *, name: str, media_type: str) -> ParsedDocument:
    text = _decode_text(data)
    if text is None:
        raise IngestRefused("unsupported_type", "not text in a supported encoding (UTF-8, UTF-16, UTF-32)")
    title = _fallback_title(name)
    if media_type == "text/markdown":
        heading = re.search(r"^#\s+(.+)$", text, re.MULTILINE)
        if heading:
            title = heading.group(1).strip()
    return ParsedDocument(
        media_type=media_type,
        parser="plinth-text",
        parser_version=version("plinth"),
        title=title,
        sections=[Section(text=clean_text(text))],
    )


def _parse_pdf(stream: BinaryIO, *, name: str, max_pages: int) -> ParsedDocument:
    try:
        reader = PdfReader(stream)
        if reader.is_encrypted:
            raise IngestRefused("encrypted", "the PDF is password-protected; send an unprotected copy")
        page_count = len(reader.pages)
    except IngestRefused:
        raise
    except (PdfReadError, ValueError, KeyError, TypeError) as exc:
        raise IngestRefused("corrupt", f"the PDF is damaged and cannot be read ({exc})") from exc
    if page_count > max_pages:
        raise IngestRefused("too_many_pages", f"{page_count} pages is over the limit of {max_pages}")
    title = _fallback_title(name)
    if reader.metadata and reader.metadata.title and reader.metadata.title.strip():
        title = reader.metadata.title.strip()
    sections = []
    for number, page in enumerate(_pages(reader), start=1):
        text = clean_text(page).strip()
        if text:
            sections.append(Section(text=text, page=number))
    return ParsedDocument(
        media_type="application/pdf",
        parser="pypdf",
        parser_version=version("pypdf"),
        title=title,
        sections=sections,
        page_count=page_count,
    )


def _pages(reader: PdfReader) -> Iterator[str]:
    for page in reader.pages:
        try:
            yield page.extract_text() or ""
        except (PdfReadError, ValueError, KeyError, TypeError) as exc:
            raise IngestRefused("corrupt", f"a page of the PDF is damaged ({exc})") from exc
