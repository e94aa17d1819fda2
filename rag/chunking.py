"""Split sections into overlapping, sentence-aware chunks with LlamaIndex node parsers, keeping the
heading and page each chunk came from so citations point to the right place."""

from __future__ import annotations

from collections.abc import Callable, Iterable, Iterator
from dataclasses import dataclass

from llama_index.core import Document as LlamaDocument
from llama_index.core.node_parser import MarkdownNodeParser, SentenceSplitter

from rag.loaders import Section


@dataclass(frozen=True)
class ChunkDraft:
    ordinal: int
    text: str
    heading: str | None
    page: int | None
    token_count: int


def _markdown_sections(section: Section) -> Iterator[Section]:
    """Markdown split at its headings; each part is labelled with its heading path (e.g. "Leave / Sick")."""
    nodes = MarkdownNodeParser().get_nodes_from_documents([LlamaDocument(text=section.text)])
    for node in nodes:
        text = node.get_content()
        path = [part for part in node.metadata.get("header_path", "").split("/") if part]
        if text.startswith("#"):
            path.append(text.splitlines()[0].lstrip("#").strip())
        yield Section(text=text, heading=" / ".join(path) or None, page=section.page)


def chunk_sections(
    sections: Iterable[Section],
    *,
    markdown: bool,
    tokenize: Callable[[str], list[str]],
    chunk_tokens: int,
    overlap_tokens: int,
) -> Iterator[ChunkDraft]:
    splitter = SentenceSplitter(chunk_size=chunk_tokens, chunk_overlap=overlap_tokens, tokenizer=tokenize)
    ordinal = 0
    for section in sections:
        parts = _markdown_sections(section) if markdown else iter([section])
        for part in parts:
            for piece in splitter.split_text(part.text):
                text = piece.strip()
                if not text:
                    continue
                yield ChunkDraft(
                    ordinal=ordinal,
                    text=text,
                    heading=part.heading,
                    page=part.page,
                    token_count=len(tokenize(text)),
                )
                ordinal += 1
