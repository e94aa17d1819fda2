from __future__ import annotations

from rag.chunking import chunk_sections
from rag.loaders import Section


def words(text: str) -> list[str]:
    return text.split()


def test_markdown_chunks_carry_their_heading_path() -> None:
    text = "# Handbook\n\nWelcome.\n\n## Leave\n\nYou earn leave.\n\n### Sick leave\n\nCall your lead.\n"
    chunks = list(
        chunk_sections([Section(text=text)], markdown=True, tokenize=words, chunk_tokens=50, overlap_tokens=5)
    )
    by_text = {c.text.splitlines()[-1]: c.heading for c in chunks}
    assert by_text["Welcome."] == "Handbook"
    assert by_text["You earn leave."] == "Handbook / Leave"
    assert by_text["Call your lead."] == "Handbook / Leave / Sick leave"
    assert [c.ordinal for c in chunks] == list(range(len(chunks)))


def test_long_text_is_split_with_overlap_and_pages_are_kept() -> None:
    sentences = " ".join(f"Sentence number {i} is here." for i in range(200))
    chunks = list(
        chunk_sections(
            [Section(text=sentences, page=7)],
            markdown=False,
            tokenize=words,
            chunk_tokens=60,
            overlap_tokens=15,
        )
    )
    assert len(chunks) > 5
    assert all(c.page == 7 for c in chunks)
    assert all(c.token_count <= 60 for c in chunks)
    # Consecutive chunks share text (the overlap), so a sentence cut at a boundary is still whole somewhere.
    assert set(chunks[0].text.split()[-10:]) & set(chunks[1].text.split()[:20])
