"""HTML with selectolax (lexbor), split at its headings; RTF with striprtf."""

from __future__ import annotations

import re
from collections.abc import Iterator
from importlib.metadata import version

from rag.loaders.base import ParsedDocument, Section, fallback_title, nonempty
from rag.loaders.text import decode

_META_CHARSET = re.compile(rb"""<meta[^>]+charset\s*=\s*["']?([A-Za-z0-9_.:-]+)""", re.IGNORECASE)
_HEADINGS = {"h1", "h2", "h3", "h4", "h5", "h6"}
_BLOCKS = {"p", "li", "tr", "div", "pre", "blockquote", "td", "th", "dd", "dt", "table", "section"}
_DROP = "script, style, noscript, template, svg, head"


def decode_html(data: bytes) -> str | None:
    declared = _META_CHARSET.search(data[:4096])
    if declared:
        try:
            return data.decode(declared.group(1).decode("ascii"))
        except (LookupError, UnicodeDecodeError):
            pass
    return decode(data)


def parse_html(markup: str, *, name: str) -> ParsedDocument:
    from selectolax.lexbor import LexborHTMLParser

    tree = LexborHTMLParser(markup)
    title_node = tree.css_first("title")
    title = title_node.text(strip=True) if title_node is not None else ""
    if not title:
        h1 = tree.css_first("h1")
        title = h1.text(strip=True) if h1 is not None else ""
    for node in tree.css(_DROP):
        node.decompose()
    root = tree.body or tree.root
    sections = list(nonempty(_html_sections(root))) if root is not None else []
    return ParsedDocument(
        media_type="text/html",
        parser="selectolax",
        parser_version=version("selectolax"),
        title=title or fallback_title(name),
        sections=sections,
    )


def _html_sections(root: object) -> Iterator[Section]:
    """Text under each heading, labelled with it; block elements become lines."""
    heading: str | None = None
    lines: list[str] = []
    for node in root.traverse(include_text=True):  # type: ignore[attr-defined]
        if node.tag in _HEADINGS:
            if lines:
                yield Section(text=" ".join(lines).replace(" \n ", "\n"), heading=heading)
                lines = []
            heading = node.text(strip=True) or heading
        elif node.tag == "-text":
            parent = node.parent
            if parent is not None and parent.tag in _HEADINGS:
                continue
            chunk = (node.text_content or "").strip()
            if chunk:
                lines.append(chunk)
        elif node.tag in _BLOCKS or node.tag == "br":
            lines.append("\n")
    if lines:
        yield Section(text=" ".join(lines).replace(" \n ", "\n"), heading=heading)


def parse_rtf(data: bytes, *, name: str) -> ParsedDocument:
    from striprtf.striprtf import rtf_to_text

    # RTF is 7-bit; \'xx escapes name code page bytes, which striprtf decodes itself.
    text = rtf_to_text(data.decode("latin-1"), errors="replace")
    return ParsedDocument(
        media_type="application/rtf",
        parser="striprtf",
        parser_version=version("striprtf"),
        title=fallback_title(name),
        sections=list(nonempty([Section(text=text)])),
    )
