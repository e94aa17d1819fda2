"""A deterministic long Word document for the ingestion benchmark, written at bench time (never
committed): the text of a corpus's Markdown and plain-text files, in sorted order and repeated as
needed, laid out as N pages of about `WORDS_PER_PAGE` words, each page opening with a heading and
closed by a page break. Plain OOXML through `zipfile`, so no document library is needed."""

from __future__ import annotations

import itertools
import re
import zipfile
from collections.abc import Iterator
from pathlib import Path
from xml.sax.saxutils import escape

WORDS_PER_PAGE = 450  # a typical printed page of prose
TEXT_SUFFIXES = (".md", ".markdown", ".txt")
_MARKUP = re.compile(r"[#*_`>|\[\]]+|\(http[^)]*\)")

_CONTENT_TYPES = (
    '<?xml version="1.0" encoding="UTF-8" standalone="yes"?>'
    '<Types xmlns="http://schemas.openxmlformats.org/package/2006/content-types">'
    '<Default Extension="rels" ContentType="application/vnd.openxmlformats-package.relationships+xml"/>'
    '<Default Extension="xml" ContentType="application/xml"/>'
    '<Override PartName="/word/document.xml" ContentType="application/'
    'vnd.openxmlformats-officedocument.wordprocessingml.document.main+xml"/>'
    '<Override PartName="/docProps/core.xml" '
    'ContentType="application/vnd.openxmlformats-package.core-properties+xml"/>'
    "</Types>"
)
_RELS = (
    '<?xml version="1.0" encoding="UTF-8" standalone="yes"?>'
    '<Relationships xmlns="http://schemas.openxmlformats.org/package/2006/relationships">'
    '<Relationship Id="rId1" Type="http://schemas.openxmlformats.org/officeDocument/2006/'
    'relationships/officeDocument" Target="word/document.xml"/>'
    '<Relationship Id="rId2" Type="http://schemas.openxmlformats.org/package/2006/relationships/'
    'metadata/core-properties" Target="docProps/core.xml"/>'
    "</Relationships>"
)
_CORE = (
    '<?xml version="1.0" encoding="UTF-8" standalone="yes"?>'
    '<cp:coreProperties xmlns:cp="http://schemas.openxmlformats.org/package/2006/metadata/core-properties"'
    ' xmlns:dc="http://purl.org/dc/elements/1.1/"><dc:title>{title}</dc:title></cp:coreProperties>'
)
_W = "http://schemas.openxmlformats.org/wordprocessingml/2006/main"
_DOCUMENT_START = (
    f'<?xml version="1.0" encoding="UTF-8" standalone="yes"?><w:document xmlns:w="{_W}"><w:body>'
)


def _paragraphs(corpus: Path) -> list[str]:
    files = sorted(p for p in corpus.rglob("*") if p.is_file() and p.suffix.lower() in TEXT_SUFFIXES)
    paragraphs: list[str] = []
    for path in files:
        text = path.read_text(encoding="utf-8", errors="replace")
        for block in re.split(r"\n\s*\n", text):
            cleaned = " ".join(_MARKUP.sub(" ", block).split())
            if len(cleaned.split()) >= 5:
                paragraphs.append(cleaned)
    if not paragraphs:
        raise ValueError(f"no Markdown or text files with prose under {corpus} to build the document from")
    return paragraphs


def _run(text: str) -> str:
    return f'<w:r><w:t xml:space="preserve">{escape(text)}</w:t></w:r>'


def _body(paragraphs: list[str], pages: int) -> Iterator[str]:
    source = itertools.cycle(paragraphs)
    for page in range(1, pages + 1):
        yield f'<w:p><w:pPr><w:pStyle w:val="Heading1"/></w:pPr>{_run(f"Part {page}")}</w:p>'
        words = 0
        while words < WORDS_PER_PAGE:
            paragraph = next(source)
            words += len(paragraph.split())
            yield f"<w:p>{_run(paragraph)}</w:p>"
        if page < pages:
            yield '<w:p><w:r><w:br w:type="page"/></w:r></w:p>'


def _entry(name: str) -> zipfile.ZipInfo:
    info = zipfile.ZipInfo(name, (2026, 1, 1, 0, 0, 0))  # fixed times: the same bytes every run
    info.compress_type = zipfile.ZIP_DEFLATED
    return info


def write_docx(path: Path, *, corpus: Path, pages: int) -> Path:
    """Write a `pages`-page DOCX built from the corpus's text to `path`; the same inputs give the same
    bytes."""
    paragraphs = _paragraphs(corpus)
    with zipfile.ZipFile(path, "w") as archive:
        for name, data in (
            ("[Content_Types].xml", _CONTENT_TYPES),
            ("_rels/.rels", _RELS),
            ("docProps/core.xml", _CORE.format(title=f"Benchmark handbook, {pages} pages")),
        ):
            archive.writestr(_entry(name), data)
        with archive.open(_entry("word/document.xml"), "w") as out:
            out.write(_DOCUMENT_START.encode())
            for element in _body(paragraphs, pages):
                out.write(element.encode())
            out.write(b"</w:body></w:document>")
    return path
