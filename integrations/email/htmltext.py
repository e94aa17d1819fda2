"""HTML mail bodies to plain text (stdlib parser): block elements break lines, scripts and styles are
dropped, links keep their target, quoted blocks (<blockquote>, Gmail's quote div) are left out."""

from __future__ import annotations

import re
from html.parser import HTMLParser

_BLOCKS = {
    "p", "div", "br", "tr", "li", "h1", "h2", "h3", "h4", "h5", "h6", "table", "ul", "ol", "pre",
    "section", "article", "header", "footer", "hr", "dt", "dd",
}  # fmt: skip
_SKIP = {"script", "style", "head", "title", "template"}
_VOID = {"br", "hr", "img", "meta", "link", "input", "area", "base", "col", "embed", "source", "wbr"}
_QUOTE_CLASSES = ("gmail_quote", "moz-cite-prefix", "yahoo_quoted", "divRplyFwdMsg")


class _Converter(HTMLParser):
    def __init__(self, *, drop_quotes: bool) -> None:
        super().__init__(convert_charrefs=True)
        self.drop_quotes = drop_quotes
        self.out: list[str] = []
        self.skip_depth = 0  # inside <script>, <style>, or a dropped quote
        self.stack: list[tuple[str, bool]] = []  # (tag, whether it opened a skipped region)
        self.href: str | None = None

    def handle_starttag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        values = dict(attrs)
        quoted = self.drop_quotes and (
            tag == "blockquote"
            or any(c in (values.get("class") or "") for c in _QUOTE_CLASSES)
            or (values.get("id") or "") in ("divRplyFwdMsg", "appendonsend")
        )
        skipping = tag in _SKIP or quoted
        if tag not in _VOID:
            self.stack.append((tag, skipping))
            if skipping:
                self.skip_depth += 1
        if tag in _BLOCKS:
            self.out.append("\n")
        if tag == "a":
            self.href = values.get("href")
        if tag == "li" and not self.skip_depth:
            self.out.append("- ")

    def handle_endtag(self, tag: str) -> None:
        while self.stack:
            opened, skipping = self.stack.pop()
            if skipping:
                self.skip_depth -= 1
            if opened == tag:
                break
        if tag in _BLOCKS:
            self.out.append("\n")
        if tag == "a":
            self.href = None

    def handle_data(self, data: str) -> None:
        if self.skip_depth:
            return
        self.out.append(data)
        href = self.href
        if href and href.startswith(("http://", "https://")) and href not in data:
            self.out.append(f" <{href}>")
            self.href = None


def html_to_text(html: str, *, drop_quotes: bool = False) -> str:
    converter = _Converter(drop_quotes=drop_quotes)
    converter.feed(html)
    converter.close()
    text = "".join(converter.out).replace("\xa0", " ")
    lines = [re.sub(r"[ \t]+", " ", line).strip() for line in text.splitlines()]
    return re.sub(r"\n{3,}", "\n\n", "\n".join(lines)).strip()
