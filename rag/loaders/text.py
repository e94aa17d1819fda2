"""Plain text, Markdown and CSV in any common charset (UTF-8/16/32, Latin-1, cp1252, …): the charset is
detected by charset-normalizer, never assumed."""

from __future__ import annotations

import csv
import io
import platform
import re
from importlib.metadata import version

from charset_normalizer import from_bytes

from rag.errors import IngestRefused
from rag.loaders.base import ParsedDocument, Section, fallback_title, nonempty

MARKDOWN_HINT = re.compile(r"^(#{1,6} \S|[-*] \S|```|\d+\. \S)", re.MULTILINE)
_CSV_ROWS_PER_SECTION = 50


def decode(data: bytes) -> str | None:
    """The text these bytes encode, or None when they are not text in any charset we recognise."""
    if not data:
        return ""
    if b"\x00" not in data:
        try:
            return data.decode("utf-8-sig")
        except UnicodeDecodeError:
            pass
    best = from_bytes(data).best()
    if best is None:
        return None
    text = str(best)
    return None if "\x00" in text else text


def looks_like_csv(text: str) -> bool:
    lines = [line for line in text.splitlines()[:20] if line.strip()]
    if len(lines) < 2:
        return False
    try:
        dialect = csv.Sniffer().sniff("\n".join(lines), delimiters=",;\t|")
    except csv.Error:
        return False
    widths = {len(row) for row in csv.reader(lines, dialect)}
    return len(widths) == 1 and widths.pop() > 1


def parse_text(text: str, *, name: str, media_type: str) -> ParsedDocument:
    title = fallback_title(name)
    if media_type == "text/markdown":
        heading = re.search(r"^#\s+(.+)$", text, re.MULTILINE)
        if heading:
            title = heading.group(1).strip()
    return ParsedDocument(
        media_type=media_type,
        parser="charset-normalizer",
        parser_version=version("charset-normalizer"),
        title=title,
        sections=list(nonempty([Section(text=text)])),
    )


def parse_csv(text: str, *, name: str) -> ParsedDocument:
    """Each row as `column: value` pairs, so a chunk carries the header it belongs to."""
    try:
        dialect: type[csv.Dialect] | csv.Dialect = csv.Sniffer().sniff(text[:8192], delimiters=",;\t|")
    except csv.Error:
        dialect = csv.excel  # lines too long to sniff: the common comma-separated form
    try:
        rows = list(csv.reader(io.StringIO(text), dialect))
    except csv.Error as exc:
        raise IngestRefused("corrupt", f"the CSV cannot be read ({exc})") from exc
    if not rows:
        return parse_text(text, name=name, media_type="text/csv")
    header, body = rows[0], rows[1:]
    lines = [
        "; ".join(f"{h.strip()}: {v.strip()}" for h, v in zip(header, row, strict=False) if v.strip())
        for row in body
    ]
    sections = [
        Section(
            text="\n".join(lines[i : i + _CSV_ROWS_PER_SECTION]),
            heading=f"rows {i + 2}-{min(i + _CSV_ROWS_PER_SECTION, len(lines)) + 1}",
        )
        for i in range(0, len(lines), _CSV_ROWS_PER_SECTION)
    ]
    return ParsedDocument(
        media_type="text/csv",
        parser="python-csv",
        parser_version=platform.python_version(),
        title=fallback_title(name),
        sections=list(nonempty(sections)),
    )
