"""Every format family on real files from ../shared/data: type from content, text, headings, pages."""

from __future__ import annotations

import io
import zipfile
from email.message import EmailMessage
from pathlib import Path

import pytest

from rag import gates
from rag.errors import IngestRefused
from rag.loaders import Limits, ParsedDocument, Section, parse

LIMITS = Limits(max_pages=1000)


def _load(path: Path, *, name: str = "renamed.bin") -> tuple[ParsedDocument, list[Section]]:
    """Parsed under a misleading name: the type must come from the content."""
    with path.open("rb") as stream:
        parsed = parse(stream, name=name, limits=LIMITS)
        return parsed, list(parsed.sections)


def _text(sections: list[Section]) -> str:
    return "\n".join(s.text for s in sections)


@pytest.mark.parametrize(
    ("file", "media_type", "parser", "expected"),
    [
        ("unstructured__handbook-1p.docx", "wordprocessingml.document", "lxml-docx", "Trustee"),
        ("unstructured__sample-presentation.pptx", "presentationml.presentation", "python-pptx", ""),
        ("unstructured__stanley-cups.xlsx", "spreadsheetml.sheet", "openpyxl", "Stanley"),
        ("unstructured__stanley-cups-utf-16.csv", "text/csv", "python-csv", "Stanley"),
        ("unstructured__example-10k-1p.html", "text/html", "selectolax", "Galaxy Gaming"),
        ("unstructured__fake-html-cp1252.html", "text/html", "selectolax", "Die schöne Frau"),
        ("unstructured__umlauts-non-utf8.md", "text/markdown", "charset-normalizer", "ä"),
        ("unstructured__fake-doc.rtf", "application/rtf", "striprtf", "My first paragraph."),
        ("tika__testRTFVarious.rtf", "application/rtf", "striprtf", "Footnote"),
        ("unstructured__korean-text-with-tables.pdf", "application/pdf", "pypdf", "한"),
        ("pypdf-samples__habibi.pdf", "application/pdf", "pypdf", ""),
    ],
)
def test_formats_are_detected_by_content_and_extracted(
    shared_data: Path, file: str, media_type: str, parser: str, expected: str
) -> None:
    parsed, sections = _load(shared_data / "docs" / file)
    assert parsed.media_type.endswith(media_type)
    assert parsed.parser == parser
    assert sections, "no text extracted"
    assert expected in _text(sections)
    assert gates.garbled_ratio(_text(sections)) < 0.15


def test_docx_headings_label_their_sections(shared_data: Path) -> None:
    _, sections = _load(shared_data / "docs" / "unstructured__handbook-872p.docx")
    headings = {s.heading for s in sections if s.heading}
    assert len(headings) > 20


def test_long_docx_is_streamed_with_page_numbers(shared_data: Path) -> None:
    _, sections = _load(shared_data / "docs" / "unstructured__handbook-872p.docx")
    assert len(_text(sections)) > 700_000
    pages = [s.page for s in sections if s.page]
    assert pages == sorted(pages)
    assert pages[-1] > 50  # page breaks are counted


def test_pptx_slides_are_pages_with_their_titles(shared_data: Path) -> None:
    parsed, sections = _load(shared_data / "docs" / "unstructured__sample-presentation.pptx")
    assert parsed.page_count == 4
    assert {s.page for s in sections} <= {1, 2, 3, 4}
    assert any(s.heading for s in sections)


def test_xlsx_sheets_are_headed_by_their_names(shared_data: Path) -> None:
    parsed, sections = _load(shared_data / "docs" / "unstructured__2023-half-year-analyses-by-segment.xlsx")
    assert parsed.page_count == 5
    assert len({s.heading for s in sections}) == 5


def test_html_title_and_headings(shared_data: Path) -> None:
    parsed, sections = _load(shared_data / "docs" / "unstructured__fake-html-cp1252.html")
    assert parsed.title == "My First Heading"
    assert "My First Heading" not in sections[0].text  # headings label, not repeat


def test_eml_body_and_attachments_recursively(shared_data: Path) -> None:
    parsed, sections = _load(shared_data / "emails" / "flanker__attached-pdf.eml")
    assert parsed.media_type == "message/rfc822"
    assert any(s.page == 1 and s.heading and ".pdf" in s.heading.lower() for s in sections)


def test_eml_attached_message_and_unsupported_attachment_is_noted() -> None:
    inner = EmailMessage()
    inner["Subject"] = "Inner"
    inner["From"] = "a@example.com"
    inner.set_content("The badge office opens at nine.")
    outer = EmailMessage()
    outer["Subject"] = "Fwd: policy"
    outer["From"] = "b@example.com"
    outer["To"] = "kb@example.com"
    outer.set_content("See the attached notes.")
    outer.add_attachment(inner)
    outer.add_attachment(b"\x89PNG\r\n\x1a\n" + bytes(64), maintype="image", subtype="png", filename="x.png")
    parsed = parse(io.BytesIO(outer.as_bytes()), name="mail", limits=LIMITS)
    text = _text(list(parsed.sections))
    assert parsed.title == "Fwd: policy"
    assert "See the attached notes." in text
    assert "The badge office opens at nine." in text
    assert parsed.skipped == ["x.png: the file is an image; OCR is not enabled"]


@pytest.mark.parametrize(
    ("file", "reason", "words"),
    [
        ("unstructured__password.pdf", "encrypted", "password"),
        ("tika__testEXCEL_protected_passtika.xlsx", "encrypted", "password"),
        ("unstructured__password_protected.xlsx", "encrypted", "password"),
        ("tika__testPDF_bad_page_303226.pdf", "corrupt", "damaged"),
        ("unstructured__fake.doc", "unsupported_type", "Word 97-2003"),
        ("unstructured__tests-example.xls", "unsupported_type", "Excel 97-2003"),
        ("unstructured__fake-power-point.ppt", "unsupported_type", "PowerPoint 97-2003"),
        ("unstructured__simple.odt", "unsupported_type", "opendocument"),
        ("unstructured__winter-sports.epub", "unsupported_type", "epub"),
        ("unstructured__DA-1p.png", "unsupported_type", "OCR is not enabled"),
        ("unstructured__DA-1p.heic", "unsupported_type", "OCR is not enabled"),
    ],
)
def test_refusals_have_specific_reasons(shared_data: Path, file: str, reason: str, words: str) -> None:
    with pytest.raises(IngestRefused) as caught:
        _load(shared_data / "docs" / file)
    assert caught.value.reason == reason
    assert words in caught.value.message


def test_owner_password_only_pdf_is_readable(shared_data: Path) -> None:
    _, sections = _load(shared_data / "docs" / "unstructured__copy-protected.pdf")
    assert len(_text(sections)) > 1000


def test_damaged_office_zip_is_corrupt(shared_data: Path) -> None:
    data = (shared_data / "docs" / "unstructured__handbook-1p.docx").read_bytes()
    buffer = io.BytesIO()
    with zipfile.ZipFile(io.BytesIO(data)) as source, zipfile.ZipFile(buffer, "w") as target:
        for item in source.infolist():
            body = source.read(item)
            target.writestr(item, body[: len(body) // 2] if item.filename == "word/document.xml" else body)
    with pytest.raises(IngestRefused) as caught:
        list(parse(io.BytesIO(buffer.getvalue()), name="x.docx", limits=LIMITS).sections)
    assert caught.value.reason == "corrupt"


def test_gates_refuse_no_text_garbled_and_size() -> None:
    limits = gates.GateLimits(max_file_bytes=10)
    with pytest.raises(IngestRefused, match="OCR is not enabled"):
        list(gates.gated(iter([]), limits))
    with pytest.raises(IngestRefused) as garbled:
        list(gates.gated(iter([Section(text="\ue000\ue001\ue002 (cid:3)(cid:4) \ufffd\ufffd ok")]), limits))
    assert garbled.value.reason == "garbled"
    with pytest.raises(IngestRefused) as large:
        gates.check_size(11, limits)
    assert large.value.reason == "too_large"
    with pytest.raises(IngestRefused) as empty:
        gates.check_size(0, limits)
    assert empty.value.reason == "empty"
    clean = [Section(text="Plain words in German: Größe, Übung.")]
    assert list(gates.gated(iter(clean), limits)) == clean
