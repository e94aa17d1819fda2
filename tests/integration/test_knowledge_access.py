"""Access control in retrieval: filtered queries still return k (iterative HNSW scans), several readers
see only what all of them may, and nothing about an unreadable document comes back."""

from __future__ import annotations

import numpy as np
from sqlalchemy import text

from app.core.db import session_scope
from app.domains.knowledge import service as knowledge
from app.domains.principals import service as principals
from rag import store
from tests.support.knowledge import add_document, unit_vectors

N = 6000


def test_one_percent_selective_filter_still_returns_k(database_url: str) -> None:
    rng = np.random.default_rng(7)
    vectors = unit_vectors(rng, N)
    rare = set(rng.choice(N, size=N // 100, replace=False).tolist())
    with session_scope() as session:
        for start in range(0, N, 1000):
            for label, pick in (("rare", True), ("common", False)):
                rows = [i for i in range(start, start + 1000) if (i in rare) == pick]
                if rows:
                    add_document(
                        session,
                        key=f"{label}-{start}",
                        access=["group:rare"] if pick else ["group:common"],
                        texts=[f"chunk {i}" for i in rows],
                        vectors=vectors[rows],
                    )
        session.execute(text("ANALYZE chunks"))
    with session_scope() as session:
        reader = principals.ensure_local(session, handle="rare-reader", groups=["rare"])
        scope = knowledge.read_scope(session, principal_ids=[reader.id])
        query = unit_vectors(rng, 1)[0]
        # At this size the planner would rather sort the GIN-filtered rows; at production sizes it takes
        # the HNSW index, which is the path under test, so force it.
        session.execute(text("SET LOCAL enable_seqscan = off"))
        session.execute(text("SET LOCAL enable_bitmapscan = off"))
        session.execute(text("SET LOCAL enable_indexscan = on"))
        # No words to match: the dense half alone, so its recall can be checked.
        passages = knowledge.search(session, question="", query_embedding=query, scope=scope, k=10)
        sql = (
            "SELECT id FROM chunks WHERE active AND access && CAST(:g AS text[]) "
            "ORDER BY embedding <=> CAST(:q AS vector) LIMIT 10"
        )
        params = {"g": ["group:rare"], "q": store.vector_literal(query)}
        plan = " ".join(row[0] for row in session.execute(text("EXPLAIN " + sql), params))
        session.execute(text("SET LOCAL hnsw.iterative_scan = off"))
        without_iteration = session.execute(text(sql), params).all()
    assert "ix_chunks_embedding_hnsw" in plan
    assert len(without_iteration) < 10  # a plain filtered HNSW scan comes up short
    assert len(passages) == 10
    assert all(int(p.text.split()[1]) in rare for p in passages)
    # The 10 returned are the true nearest readable ones (exact search over the rare rows).
    exact = sorted(rare, key=lambda i: -float(vectors[i] @ query))[:10]
    assert len({int(p.text.split()[1]) for p in passages} & set(exact)) >= 7


def test_readers_see_only_what_every_one_of_them_may(database_url: str) -> None:
    rng = np.random.default_rng(1)
    with session_scope() as session:
        alice = principals.ensure_local(session, handle="alice", groups=["finance"])
        bob = principals.ensure_local(session, handle="bob", groups=["sales"])
        for key, access in (
            ("org-doc", ["org"]),
            ("finance-doc", ["group:finance"]),
            ("bob-doc", [f"user:{bob.id}"]),
        ):
            add_document(
                session, key=key, access=access, texts=[f"{key} budget"], vectors=unit_vectors(rng, 1)
            )
    with session_scope() as session:
        query = unit_vectors(rng, 1)[0]

        def titles(scope: knowledge.ReadScope) -> set[str]:
            return {
                p.title
                for p in knowledge.search(
                    session, question="budget", query_embedding=query, scope=scope, k=10
                )
            }

        assert titles(knowledge.read_scope(session, principal_ids=[alice.id])) == {"org-doc", "finance-doc"}
        assert titles(knowledge.read_scope(session, principal_ids=[bob.id])) == {"org-doc", "bob-doc"}
        both = knowledge.read_scope(session, principal_ids=[alice.id, bob.id])
        assert titles(both) == {"org-doc"}
        shared = knowledge.read_scope(
            session, principal_ids=[alice.id, bob.id], shared_grants=["group:finance"]
        )
        assert titles(shared) == {"org-doc", "finance-doc"}
        assert titles(knowledge.read_scope(session, principal_ids=[])) == set()


def test_unreadable_document_leaves_no_trace_in_results(database_url: str) -> None:
    """A secret document that matches the question best, by words and by vector, never surfaces: not as
    a passage, not as a shortfall in k, not in scores."""
    rng = np.random.default_rng(3)
    query = unit_vectors(rng, 1)[0]
    public = unit_vectors(rng, 20)
    with session_scope() as session:
        carol = principals.ensure_local(session, handle="carol")
        add_document(
            session,
            key="merger-plan",
            access=["group:board"],
            texts=["Project Falcon merger plan: acquire Initech"],
            vectors=query[None, :],
        )
        add_document(
            session,
            key="handbook",
            access=["org"],
            texts=[f"handbook page {i}" for i in range(20)],
            vectors=public,
        )
    with session_scope() as session:
        scope = knowledge.read_scope(session, principal_ids=[carol.id])
        passages = knowledge.search(
            session, question="Project Falcon merger plan Initech", query_embedding=query, scope=scope, k=5
        )
    assert len(passages) == 5
    assert all(p.title == "handbook" and "Falcon" not in p.text for p in passages)
    assert max(p.score for p in passages) < 0.5  # the exact-match secret chunk (score 1.0) is not there
