"""The type of a file from its content, never from its name."""

from __future__ import annotations

import re
import zipfile
from collections.abc import Callable
from typing import BinaryIO

from rag.errors import IngestRefused

PDF = "application/pdf"
DOCX = "application/vnd.openxmlformats-officedocument.wordprocessingml.document"
PPTX = "application/vnd.openxmlformats-officedocument.presentationml.presentation"
XLSX = "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet"
RTF = "application/rtf"
EML = "message/rfc822"
HTML = "text/html"
TEXT = "text/plain"  # plain text, Markdown or CSV: told apart once decoded
OLE = "application/x-ole-storage"
ZIP = "application/zip"

_OLE_MAGIC = b"\xd0\xcf\x11\xe0\xa1\xb1\x1a\xe1"
_HTML_START = re.compile(
    rb"^\s*(<\?xml[^>]*>\s*)?(<!--.*?-->\s*)*<(!doctype\s+html|html|head|body)\b", re.I | re.S
)
_HEADER_LINE = re.compile(rb"^[A-Za-z][A-Za-z0-9-]{1,40}:[ \t]?\S", re.M)
_MAIL_HEADERS = {
    b"from",
    b"to",
    b"subject",
    b"date",
    b"received",
    b"message-id",
    b"mime-version",
    b"return-path",
}
_IMAGE_MAGIC = (b"\x89PNG", b"\xff\xd8\xff", b"GIF8", b"II*\x00", b"MM\x00*", b"BM")
_ISO_IMAGES = (b"ftypheic", b"ftypmif1", b"ftypheix", b"ftypavif")
_ZIP_KINDS = {"word/document.xml": DOCX, "ppt/presentation.xml": PPTX, "xl/workbook.xml": XLSX}


def _looks_like_mail(head: bytes) -> bool:
    block = head.lstrip(b"\r\n").split(b"\n\n", 1)[0].split(b"\r\n\r\n", 1)[0]
    names = {m.group(0).split(b":", 1)[0].lower() for m in _HEADER_LINE.finditer(block[:16384])}
    return len(names & _MAIL_HEADERS) >= 2 and bool(_HEADER_LINE.match(head.lstrip(b"\r\n")))


def _zip_kind(stream: BinaryIO) -> str:
    try:
        with zipfile.ZipFile(stream) as archive:
            names = set(archive.namelist())
            mimetype = archive.read("mimetype").decode("ascii", "replace") if "mimetype" in names else ""
    except (zipfile.BadZipFile, OSError, ValueError) as exc:
        raise IngestRefused("corrupt", f"the archive is damaged and cannot be read ({exc})") from exc
    finally:
        stream.seek(0)
    for member, kind in _ZIP_KINDS.items():
        if member in names:
            return kind
    if mimetype:
        raise IngestRefused(
            "unsupported_type", f"unsupported file type ({mimetype}); convert it to PDF or DOCX"
        )
    return ZIP


def _refuse_image(stream: BinaryIO) -> str:
    raise IngestRefused("unsupported_type", "the file is an image; OCR is not enabled")


_SIGNATURES: tuple[tuple[Callable[[bytes], bool], Callable[[BinaryIO], str]], ...] = (
    (lambda h: b"%PDF-" in h[:1024], lambda s: PDF),
    (lambda h: h.startswith(b"PK\x03\x04"), _zip_kind),
    (lambda h: h.startswith(_OLE_MAGIC), lambda s: OLE),
    (lambda h: h.startswith(b"{\\rtf"), lambda s: RTF),
    (lambda h: h.startswith(_IMAGE_MAGIC) or h[4:12] in _ISO_IMAGES, _refuse_image),
    (lambda h: bool(_HTML_START.match(h[:2048])), lambda s: HTML),
    (_looks_like_mail, lambda s: EML),
)


def sniff(stream: BinaryIO, head: bytes) -> str:
    for matches, kind in _SIGNATURES:
        if matches(head):
            return kind(stream)
    return TEXT
