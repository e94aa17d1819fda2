"""Turn original bytes into text sections (with page and heading) ready for chunking, one module per
format family. The type is detected from the content, never from the file name."""

from __future__ import annotations

from collections.abc import Callable
from typing import BinaryIO

from rag.errors import IngestRefused
from rag.loaders import detect
from rag.loaders.base import Limits, ParsedDocument, Section, clean_text, nonempty
from rag.loaders.mail import parse_eml
from rag.loaders.markup import decode_html, parse_html, parse_rtf
from rag.loaders.office import parse_docx, parse_pptx, parse_xlsx
from rag.loaders.pdf import parse_pdf
from rag.loaders.text import MARKDOWN_HINT, decode, looks_like_csv, parse_csv, parse_text

__all__ = ["Limits", "ParsedDocument", "Section", "clean_text", "parse", "sniff_media_type"]

_PROBE_BYTES = 64 * 1024
# Names of the streams inside an OLE compound file (UTF-16LE in its directory).
_OLE_ENCRYPTED = "EncryptedPackage".encode("utf-16-le")
_OLE_LEGACY = {
    "WordDocument".encode("utf-16-le"): "Word 97-2003 (.doc)",
    "Workbook".encode("utf-16-le"): "Excel 97-2003 (.xls)",
    "PowerPoint Document".encode("utf-16-le"): "PowerPoint 97-2003 (.ppt)",
    "__substg1.0_".encode("utf-16-le"): "Outlook message (.msg)",
}
_OLE_SCAN_BYTES = 8 * 1024 * 1024


def sniff_media_type(head: bytes) -> str:
    """The media type of a file from its first bytes (text kinds told apart once decoded)."""
    import io

    try:
        kind = detect.sniff(io.BytesIO(head), head)
    except IngestRefused:
        return "application/octet-stream"
    if kind != detect.TEXT:
        return kind
    text = decode(head)
    if text is None:
        return "application/octet-stream"
    return "text/markdown" if MARKDOWN_HINT.search(text) else "text/plain"


def _html(stream: BinaryIO, name: str, limits: Limits, depth: int) -> ParsedDocument:
    markup = decode_html(stream.read())
    if markup is None:
        raise IngestRefused("unsupported_type", "the HTML is in an unrecognised character set")
    return parse_html(markup, name=name)


def _ole(stream: BinaryIO, name: str, limits: Limits, depth: int) -> ParsedDocument:
    data = stream.read(_OLE_SCAN_BYTES)
    if _OLE_ENCRYPTED in data:
        raise IngestRefused("encrypted", "the Office file is password-protected; send an unprotected copy")
    for marker, label in _OLE_LEGACY.items():
        if marker in data:
            raise IngestRefused(
                "unsupported_type", f"unsupported file type: {label}; save it as DOCX, XLSX, PPTX or PDF"
            )
    raise IngestRefused("unsupported_type", "unsupported file type: an OLE compound file")


def _zip(stream: BinaryIO, name: str, limits: Limits, depth: int) -> ParsedDocument:
    raise IngestRefused("unsupported_type", "unsupported file type: a ZIP archive; send the files inside it")


_LOADERS: dict[str, Callable[[BinaryIO, str, Limits, int], ParsedDocument]] = {
    detect.PDF: lambda s, n, lim, d: parse_pdf(s, name=n, limits=lim),
    detect.DOCX: lambda s, n, lim, d: parse_docx(s, name=n, limits=lim),
    detect.PPTX: lambda s, n, lim, d: parse_pptx(s, name=n, limits=lim),
    detect.XLSX: lambda s, n, lim, d: parse_xlsx(s, name=n, limits=lim),
    detect.RTF: lambda s, n, lim, d: parse_rtf(s.read(), name=n),
    detect.EML: lambda s, n, lim, d: parse_eml(s.read(), name=n, limits=lim, parse=parse, depth=d),
    detect.HTML: _html,
    detect.OLE: _ole,
    detect.ZIP: _zip,
    detect.TEXT: lambda s, n, lim, d: _parse_decoded(s.read(), name=n),
}


def parse(
    stream: BinaryIO, *, name: str, max_pages: int | None = None, limits: Limits | None = None, depth: int = 0
) -> ParsedDocument:
    """Parse one file. Raises IngestRefused with the reason a submitter sees."""
    limits = limits or Limits(max_pages=max_pages or 2000)
    head = stream.read(_PROBE_BYTES)
    stream.seek(0)
    parsed = _LOADERS[detect.sniff(stream, head)](stream, name, limits, depth)
    parsed.sections = nonempty(parsed.sections)
    return parsed


def _parse_decoded(data: bytes, *, name: str) -> ParsedDocument:
    text = decode(data)
    if text is None:
        raise IngestRefused(
            "unsupported_type",
            "unsupported file type: accepted are PDF, DOCX, PPTX, XLSX, CSV, HTML, Markdown, text, RTF, .eml",
        )
    if looks_like_csv(text):
        return parse_csv(text, name=name)
    media_type = "text/markdown" if MARKDOWN_HINT.search(text[:_PROBE_BYTES]) else "text/plain"
    return parse_text(text, name=name, media_type=media_type)
