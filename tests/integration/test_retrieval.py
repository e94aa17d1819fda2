from __future__ import annotations

from pathlib import Path

from app.core.db import session_scope
from app.domains.principals import service as principals
from rag import retrieval
from rag.embeddings import get_embedder
from tests.integration.conftest import ingest_file


def _search(question: str, grants: list[str], k: int = 5) -> list[retrieval.Passage]:
    query = get_embedder().embed([question])[0]
    with session_scope() as session:
        return retrieval.search(session, query=query, grants=grants, k=k, ef_search=40)


def test_best_passage_comes_first(database_url: str, shared_data: Path) -> None:
    pages = shared_data / "qa" / "handbook-18F" / "pages"
    ingest_file(pages / "travel-and-leave" / "leave.md")
    ingest_file(pages / "travel-and-leave" / "travel-and-leave-policies" / "travel-guide-faq.md")
    hits = _search("How many hours of annual leave do I earn per pay period?", ["org"])
    assert hits[0].source == "leave.md"
    assert hits[0].score >= hits[-1].score
    assert len(hits) == 5


def test_nobody_retrieves_what_they_may_not_read(database_url: str, tmp_path: Path) -> None:
    secret = tmp_path / "salaries.md"
    secret.write_text("# Salaries\n\nThe CEO earns 900,000 dollars a year.\n")
    public = tmp_path / "lunch.md"
    public.write_text("# Lunch\n\nLunch is served at noon in the canteen.\n")
    ingest_file(secret, access=["group:finance"])
    ingest_file(public)
    with session_scope() as session:
        outsider = principals.ensure_local(session, handle="outsider")
        insider = principals.ensure_local(session, handle="insider", groups=["finance"])
        outsider_grants, insider_grants = (
            principals.access_grants(outsider),
            principals.access_grants(insider),
        )
    question = "How much does the CEO earn?"
    assert {p.source for p in _search(question, outsider_grants)} == {"lunch.md"}
    assert _search(question, insider_grants)[0].source == "salaries.md"


def test_retired_chunks_are_never_returned(database_url: str, tmp_path: Path) -> None:
    path = tmp_path / "wifi.md"
    path.write_text("# Wifi\n\nThe office wifi password is orange-duck.\n")
    ingest_file(path)
    path.write_text("# Wifi\n\nThe office wifi password is blue-goose.\n")
    ingest_file(path)
    texts = [p.text for p in _search("What is the wifi password?", ["org"])]
    assert texts == ["# Wifi\n\nThe office wifi password is blue-goose."]
