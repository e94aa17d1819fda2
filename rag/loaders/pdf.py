"""PDF with pypdf, read page by page: only the page being extracted is held in memory."""

from __future__ import annotations

import contextlib
from collections.abc import Iterator
from importlib.metadata import version
from typing import BinaryIO

from pypdf import PdfReader
from pypdf.errors import FileNotDecryptedError, PdfReadError

from rag.errors import IngestRefused
from rag.loaders.base import Limits, ParsedDocument, Section, best_title, check_pages, corrupt

_READ_ERRORS = (PdfReadError, ValueError, KeyError, TypeError, AttributeError, IndexError, RecursionError)


def parse_pdf(stream: BinaryIO, *, name: str, limits: Limits) -> ParsedDocument:
    try:
        reader = PdfReader(stream)
        if reader.is_encrypted and not _opens_without_password(reader):
            raise IngestRefused("encrypted", "the PDF is password-protected; send an unprotected copy")
        page_count = len(reader.pages)
    except IngestRefused:
        raise
    except FileNotDecryptedError as exc:
        raise IngestRefused("encrypted", "the PDF is password-protected; send an unprotected copy") from exc
    except _READ_ERRORS as exc:
        raise corrupt("PDF", exc) from exc
    check_pages(page_count, limits)
    declared = None
    # A damaged info dictionary does not stop the text from being read.
    with contextlib.suppress(*_READ_ERRORS):
        declared = reader.metadata.title if reader.metadata else None
    return ParsedDocument(
        media_type="application/pdf",
        parser="pypdf",
        parser_version=version("pypdf"),
        title=best_title(declared, name),
        sections=_pages(reader),
        page_count=page_count,
    )


def _opens_without_password(reader: PdfReader) -> bool:
    """Owner-password-only PDFs (copy protection) open with the empty user password."""
    try:
        return bool(reader.decrypt(""))
    except (*_READ_ERRORS, NotImplementedError):
        return False


def _pages(reader: PdfReader) -> Iterator[Section]:
    for number, page in enumerate(reader.pages, start=1):
        try:
            text = page.extract_text() or ""
        except _READ_ERRORS as exc:
            raise IngestRefused("corrupt", f"page {number} of the PDF is damaged ({exc})") from exc
        yield Section(text=text, page=number)
