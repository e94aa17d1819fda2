"""Office Open XML: DOCX streamed with lxml's iterparse (a 900-page document is never a whole tree in
memory), PPTX with python-pptx (one section per slide), XLSX with openpyxl in read-only mode (rows are
streamed, one section per sheet chunk)."""

from __future__ import annotations

import zipfile
from collections.abc import Iterator
from importlib.metadata import version
from typing import BinaryIO

from lxml import etree

from rag.errors import IngestRefused
from rag.loaders.base import Limits, ParsedDocument, Section, check_pages, corrupt, fallback_title

_W = "{http://schemas.openxmlformats.org/wordprocessingml/2006/main}"
_DC_TITLE = "{http://purl.org/dc/elements/1.1/}title"
_PARAGRAPHS_PER_SECTION = 40
_ROWS_PER_SECTION = 50
_ZIP_ERRORS = (zipfile.BadZipFile, KeyError, etree.XMLSyntaxError, OSError, ValueError, EOFError)


def _core_title(archive: zipfile.ZipFile) -> str | None:
    try:
        with archive.open("docProps/core.xml") as core:
            node = etree.parse(core).find(_DC_TITLE)
    except _ZIP_ERRORS:
        return None
    return node.text.strip() if node is not None and node.text and node.text.strip() else None


def parse_docx(stream: BinaryIO, *, name: str, limits: Limits) -> ParsedDocument:
    try:
        archive = zipfile.ZipFile(stream)
        archive.getinfo("word/document.xml")
    except _ZIP_ERRORS as exc:
        raise corrupt("Word document", exc) from exc
    return ParsedDocument(
        media_type="application/vnd.openxmlformats-officedocument.wordprocessingml.document",
        parser="lxml-docx",
        parser_version=version("lxml"),
        title=_core_title(archive) or fallback_title(name),
        sections=_docx_sections(archive, limits),
    )


def _paragraphs(archive: zipfile.ZipFile) -> Iterator[tuple[str, str | None, int]]:
    """(text, heading style or None, page breaks seen so far) per paragraph, in document order."""
    breaks = 0
    with archive.open("word/document.xml") as xml:
        for _, element in etree.iterparse(xml, events=("end",), tag=f"{_W}p", huge_tree=True):
            style = element.find(f"{_W}pPr/{_W}pStyle")
            style_name = style.get(f"{_W}val", "") if style is not None else ""
            breaks += len(element.findall(f".//{_W}lastRenderedPageBreak"))
            breaks += sum(1 for br in element.iter(f"{_W}br") if br.get(f"{_W}type") == "page")
            text = "".join(t.text or "" for t in element.iter(f"{_W}t"))
            heading = style_name if style_name.lower().startswith(("heading", "title")) else None
            yield text, heading, breaks
            # Free what was parsed so memory stays flat over long documents.
            element.clear(keep_tail=True)
            while element.getprevious() is not None:
                del element.getparent()[0]


def _docx_sections(archive: zipfile.ZipFile, limits: Limits) -> Iterator[Section]:
    heading: str | None = None
    lines: list[str] = []
    page = 1
    try:
        for text, style, breaks in _paragraphs(archive):
            if (style and text.strip()) or len(lines) >= _PARAGRAPHS_PER_SECTION:
                if lines:
                    yield Section(text="\n".join(lines), heading=heading, page=page)
                lines = []
                page = breaks + 1
                check_pages(page, limits)
            if style and text.strip():
                heading = text.strip()
            if text.strip():
                lines.append(text)
    except _ZIP_ERRORS as exc:
        raise corrupt("Word document", exc) from exc
    if lines:
        yield Section(text="\n".join(lines), heading=heading, page=page)


def parse_pptx(stream: BinaryIO, *, name: str, limits: Limits) -> ParsedDocument:
    from pptx import Presentation
    from pptx.exc import PackageNotFoundError

    try:
        deck = Presentation(stream)
    except (PackageNotFoundError, *_ZIP_ERRORS) as exc:
        raise corrupt("presentation", exc) from exc
    check_pages(len(deck.slides), limits, unit="slides")
    title = (deck.core_properties.title or "").strip() or fallback_title(name)
    return ParsedDocument(
        media_type="application/vnd.openxmlformats-officedocument.presentationml.presentation",
        parser="python-pptx",
        parser_version=version("python-pptx"),
        title=title,
        sections=list(_slides(deck)),
        page_count=len(deck.slides),
    )


def _slides(deck: object) -> Iterator[Section]:
    for number, slide in enumerate(deck.slides, start=1):  # type: ignore[attr-defined]
        heading = slide.shapes.title.text_frame.text.strip() if slide.shapes.title is not None else None
        parts: list[str] = []
        for shape in slide.shapes:
            if shape.has_text_frame:
                parts.append(shape.text_frame.text)
            if getattr(shape, "has_table", False) and shape.has_table:
                parts.extend(" | ".join(c.text for c in row.cells) for row in shape.table.rows)
        if slide.has_notes_slide and slide.notes_slide.notes_text_frame is not None:
            parts.append(slide.notes_slide.notes_text_frame.text)
        yield Section(text="\n".join(p for p in parts if p.strip()), heading=heading or None, page=number)


def parse_xlsx(stream: BinaryIO, *, name: str, limits: Limits) -> ParsedDocument:
    from openpyxl import load_workbook

    try:
        book = load_workbook(stream, read_only=True, data_only=True)
    except _ZIP_ERRORS as exc:
        raise corrupt("spreadsheet", exc) from exc
    check_pages(len(book.sheetnames), limits, unit="sheets")
    title = (book.properties.title or "").strip() or fallback_title(name)
    return ParsedDocument(
        media_type="application/vnd.openxmlformats-officedocument.spreadsheetml.sheet",
        parser="openpyxl",
        parser_version=version("openpyxl"),
        title=title,
        sections=_sheets(book),
        page_count=len(book.sheetnames),
    )


def _sheets(book: object) -> Iterator[Section]:
    try:
        for number, sheet in enumerate(book.worksheets, start=1):  # type: ignore[attr-defined]
            lines: list[str] = []
            for row in sheet.iter_rows(values_only=True):
                cells = [str(v).strip() for v in row if v is not None and str(v).strip()]
                if cells:
                    lines.append(" | ".join(cells))
                if len(lines) >= _ROWS_PER_SECTION:
                    yield Section(text="\n".join(lines), heading=sheet.title, page=number)
                    lines = []
            if lines:
                yield Section(text="\n".join(lines), heading=sheet.title, page=number)
    except _ZIP_ERRORS as exc:
        raise IngestRefused("corrupt", f"a sheet of the spreadsheet is damaged ({exc})") from exc
    finally:
        book.close()  # type: ignore[attr-defined]
