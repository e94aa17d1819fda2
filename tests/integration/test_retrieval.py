from __future__ import annotations

from datetime import UTC, datetime
from pathlib import Path

from sqlalchemy import text

from app.core.db import session_scope
from app.domains.knowledge import service as knowledge
from app.domains.principals import service as principals
from rag import retrieval
from rag.embeddings import get_embedder
from tests.integration.conftest import ingest_file


def _search(question: str, grants: list[str], k: int = 5) -> list[retrieval.Passage]:
    query = get_embedder().embed([question])[0]
    scope = knowledge.ReadScope(grant_sets=(tuple(sorted(grants)),))
    with session_scope() as session:
        return knowledge.search(session, question=question, query_embedding=query, scope=scope, k=k)


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


def test_stale_sources_are_flagged_and_deleted_ones_gone_at_once(database_url: str, tmp_path: Path) -> None:
    old = tmp_path / "parking.md"
    old.write_text("# Parking\n\nParking permits cost 40 dollars a month.\n")
    outcome = ingest_file(old)
    question = "How much is a parking permit?"
    assert [p.stale for p in _search(question, ["org"])] == [False]
    with session_scope() as session:
        knowledge.set_review(
            session,
            document_id=outcome.document_id,
            review_at=datetime(2020, 1, 1, tzinfo=UTC),
            expires_at=None,
            by=None,
        )
    assert [p.stale for p in _search(question, ["org"])] == [True]
    with session_scope() as session:
        assert knowledge.delete_document(session, document_id=outcome.document_id, by=None) == 1
    assert _search(question, ["org"]) == []
    with session_scope() as session:
        info = knowledge.show_document(session, document_id=outcome.document_id)
    assert info.deleted_at is not None
    assert info.stale
    assert [v.version_no for v in info.versions] == [1]


def test_access_change_takes_effect_at_once(database_url: str, tmp_path: Path) -> None:
    path = tmp_path / "roadmap.md"
    path.write_text("# Roadmap\n\nThe next release ships in March.\n")
    outcome = ingest_file(path)
    with session_scope() as session:
        knowledge.set_access(session, document_id=outcome.document_id, access=["group:product"], by=None)
    assert _search("When is the next release?", ["org"]) == []
    assert len(_search("When is the next release?", ["org", "group:product"])) == 1


def test_hybrid_finds_german_words_by_their_stems(database_url: str, tmp_path: Path) -> None:
    path = tmp_path / "urlaub.md"
    path.write_text(
        "# Urlaub\n\nDie Mitarbeiter haben Anspruch auf dreißig Urlaubstage im Jahr, und der Urlaub wird "
        "bei der Personalabteilung beantragt.\n"
    )
    ingest_file(path)
    other = tmp_path / "kantine.md"
    other.write_text("# Kantine\n\nDas Mittagessen gibt es in der Kantine ab zwölf Uhr.\n")
    ingest_file(other)
    with session_scope() as session:
        config = session.scalar(
            text("SELECT DISTINCT ts_config::text FROM chunks WHERE source = 'urlaub.md'")
        )
    assert config == "german"
    hits = _search("Wie viele Urlaubstage haben Mitarbeiter?", ["org"], k=2)
    assert hits[0].source == "urlaub.md"
