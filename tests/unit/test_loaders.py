from __future__ import annotations

import io
from pathlib import Path

import pytest

from rag.errors import IngestRefused
from rag.loaders import ParsedDocument, clean_text, parse, sniff_media_type


def _parse(data: bytes, name: str = "file") -> ParsedDocument:
    return parse(io.BytesIO(data), name=name, max_pages=100)


def test_type_comes_from_content_not_name() -> None:
    assert sniff_media_type(b"%PDF-1.7\n...") == "application/pdf"
    assert sniff_media_type(b"# Leave policy\n\nText.") == "text/markdown"
    assert sniff_media_type(b"Just a sentence.") == "text/plain"
    assert sniff_media_type(b"\x89PNG\r\n\x1a\n\x00\x00\x00") == "application/octet-stream"
    assert sniff_media_type("Über".encode("utf-16")) == "text/plain"


def test_markdown_title_is_the_first_heading() -> None:
    parsed = parse(io.BytesIO(b"intro\n\n# Travel policy\n\nBook early."), name="x.txt", max_pages=10)
    assert parsed.media_type == "text/markdown"
    assert parsed.title == "Travel policy"


def test_utf16_text_is_decoded(shared_data: Path) -> None:
    path = shared_data / "docs" / "unstructured__fake-text-utf-16.txt"
    parsed = parse(path.open("rb"), name=path.name, max_pages=10)
    assert parsed.media_type == "text/plain"
    assert "test" in next(iter(parsed.sections)).text.lower()


def test_binary_is_refused_as_unsupported() -> None:
    with pytest.raises(IngestRefused) as caught:
        _parse(b"\x89PNG\r\n\x1a\n" + bytes(range(256)))
    assert caught.value.reason == "unsupported_type"


def test_pdf_pages_keep_their_numbers(shared_data: Path) -> None:
    path = shared_data / "docs" / "unstructured__fake-memo.pdf"
    parsed = parse(path.open("rb"), name=path.name, max_pages=10)
    assert parsed.media_type == "application/pdf"
    assert parsed.parser == "pypdf"
    sections = list(parsed.sections)
    assert sections[0].page == 1
    assert sections[0].text


def test_password_protected_pdf_is_refused(shared_data: Path) -> None:
    path = shared_data / "docs" / "pypdf-samples__libreoffice-writer-password.pdf"
    with pytest.raises(IngestRefused) as caught:
        parse(path.open("rb"), name=path.name, max_pages=10)
    assert caught.value.reason == "encrypted"
    assert "password" in caught.value.message


def test_pdf_over_the_page_limit_is_refused(shared_data: Path) -> None:
    path = shared_data / "docs" / "unstructured__DA-619p.pdf"
    with pytest.raises(IngestRefused) as caught:
        parse(path.open("rb"), name=path.name, max_pages=100)
    assert caught.value.reason == "too_many_pages"
    assert "619 pages" in caught.value.message


def test_truncated_pdf_is_refused_as_corrupt(shared_data: Path) -> None:
    data = (shared_data / "docs" / "unstructured__fake-memo.pdf").read_bytes()[:400]
    with pytest.raises(IngestRefused) as caught:
        _parse(data)
    assert caught.value.reason == "corrupt"


def test_control_characters_are_removed() -> None:
    assert (
        clean_text("Zejiang Shen1 (\x00 ), line\r\nnext\x07 line\ttab")
        == "Zejiang Shen1 ( ), line\nnext line\ttab"
    )
    parsed = _parse(b"a line\r\nnext\x07 line")
    assert next(iter(parsed.sections)).text == "a line\nnext line"


def test_lone_surrogates_become_replacement_characters() -> None:
    assert clean_text("caf\udce9 ok") == "caf\ufffd ok"
