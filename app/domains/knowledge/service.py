"""The knowledge base: ingest documents (see `ingestion`), manage them (see `lifecycle`), and retrieve
what a set of readers may see."""

from __future__ import annotations

import dataclasses
import uuid
from collections.abc import Mapping, Sequence
from pathlib import Path
from typing import Any

from sqlalchemy import select
from sqlalchemy.orm import Session

from app.core.errors import InvalidInput
from app.core.settings import get_settings
from app.domains.knowledge import corpus
from app.domains.knowledge.ingestion import ensure_source, ingest, reingest
from app.domains.knowledge.lifecycle import (
    delete_document,
    list_documents,
    list_refusals,
    list_sources,
    record_refusal,
    set_access,
    set_review,
    show_document,
    stale_document_ids,
)
from app.domains.knowledge.models import Document
from app.domains.knowledge.schemas import ReadScope
from app.domains.principals import service as principals
from rag import retrieval
from rag.embeddings import Vector, get_embedder
from rag.retrieval import Passage

__all__ = [
    "ReadScope",
    "delete_document",
    "ensure_source",
    "ingest",
    "list_documents",
    "list_refusals",
    "list_sources",
    "read_scope",
    "record_refusal",
    "reingest",
    "resolve_access",
    "retrieval_settings",
    "search",
    "set_access",
    "set_review",
    "show_document",
]

SLACK_CHANNEL_PREFIX = "slack:"


def resolve_access(session: Session, specs: list[str]) -> list[str]:
    """Access entries as people type them — org, group:NAME, user:HANDLE, or slack:TEAM:CHANNEL (that
    channel's members, held as a group grant) — to stored grants."""
    if any("\x00" in s for s in specs):
        raise InvalidInput("an access entry may not contain a NUL character")
    channels = [principals.group_grant(s) for s in specs if s.startswith(SLACK_CHANNEL_PREFIX)]
    others = [s for s in specs if not s.startswith(SLACK_CHANNEL_PREFIX)]
    grants = principals.resolve_grants(session, others) if others else []
    return sorted(set(grants) | set(channels))


def read_scope(
    session: Session, *, principal_ids: Sequence[uuid.UUID], shared_grants: Sequence[str] = ()
) -> ReadScope:
    """What these readers may all see: one grant set per reader (a channel answer is seen by everyone
    in it), or anything the shared grants open (a channel's configured scope)."""
    grant_sets = tuple(
        tuple(sorted(principals.access_grants(principals.get(session, principal_id=pid))))
        for pid in dict.fromkeys(principal_ids)
    )
    return ReadScope(grant_sets=grant_sets, shared_grants=tuple(sorted(set(shared_grants))))


def _params(k: int) -> retrieval.HybridParams:
    settings = get_settings()
    knowledge = settings.knowledge
    return retrieval.HybridParams(
        k=k,
        ef_search=settings.retrieval.hnsw_ef_search,
        max_scan_tuples=knowledge.max_scan_tuples,
        candidates=knowledge.candidates,
        rrf_k=knowledge.rrf_k,
        dense_weight=knowledge.dense_weight,
        text_weight=knowledge.text_weight,
        text_configs=tuple(knowledge.text_search_configs),
        mode=knowledge.retrieval_mode,
    )


def search(
    session: Session,
    *,
    question: str,
    query_embedding: Vector | Sequence[float],
    scope: ReadScope,
    k: int,
    overrides: Mapping[str, Any] | None = None,
) -> list[Passage]:
    """The k passages best for the question that the scope may read (hybrid unless configured dense),
    best first, each flagged when its document is past its review or expiry date. `overrides` replaces
    retrieval parameters (mode, weights) for evaluations."""
    import numpy as np

    query = np.asarray(query_embedding, dtype=np.float32)
    passages = retrieval.search(
        session,
        question=question,
        query=query,
        scope=retrieval.Filter(grant_sets=scope.grant_sets, shared=scope.shared_grants),
        p=dataclasses.replace(_params(k), **(overrides or {})),
    )
    stale = stale_document_ids(session, document_ids=list({p.document_id for p in passages}))
    return [dataclasses.replace(p, stale=p.document_id in stale) for p in passages]


def retrieval_settings() -> dict[str, object]:
    """What to record with an answer to reproduce its retrieval."""
    settings = get_settings()
    return {
        "embedding_model": get_settings().embedding.model,
        "mode": settings.knowledge.retrieval_mode,
        "top_k": settings.retrieval.top_k,
        "ef_search": settings.retrieval.hnsw_ef_search,
        "iterative_scan": "relaxed_order",
        "max_scan_tuples": settings.knowledge.max_scan_tuples,
        "candidates": settings.knowledge.candidates,
        "rrf_k": settings.knowledge.rrf_k,
        "dense_weight": settings.knowledge.dense_weight,
        "text_weight": settings.knowledge.text_weight,
        "text_search_configs": list(settings.knowledge.text_search_configs),
    }


def embed_query(question: str) -> Vector:
    return get_embedder().embed([question])[0]


def access_lists(session: Session, *, document_ids: Sequence[uuid.UUID]) -> list[list[str]]:
    """The access list of each document (what a reader must hold a grant from to see it)."""
    if not document_ids:
        return []
    rows = session.scalars(select(Document.access).where(Document.id.in_(document_ids))).all()
    return [sorted(access) for access in rows]


def mark_corpus_changed(session: Session) -> None:
    """Something other than a document changed what answers may say (e.g. an approved correction)."""
    corpus.bump(session)


def corpus_version(session: Session) -> int:
    """Changes whenever what retrieval can see changes; caches of answers key on it."""
    return corpus.current(session)


def cli_source_key(path: Path) -> str:
    return str(path.resolve())
