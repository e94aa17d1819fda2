"""Answer a recorded question: retrieve what the asker may read, compose a cited answer, store it."""

from __future__ import annotations

import time
import uuid

from sqlalchemy.orm import Session

from app.core.settings import get_settings
from app.domains.conversations import service as conversations
from app.domains.conversations.schemas import AnswerSummary
from app.domains.corrections import service as corrections
from app.domains.knowledge import service as knowledge
from app.domains.principals import service as principals
from rag import passages as passage_lookup
from rag.embeddings import get_embedder
from rag.generation import DraftAnswer, compose_answer, curated_answer
from rag.llm import get_llm_client


def answer_message(session: Session, *, message_id: uuid.UUID) -> AnswerSummary:
    """Idempotent: a message that already has an answer gets that answer back, not a second one."""
    message = conversations.get_message(session, message_id=message_id)
    existing = conversations.find_answer(session, message_id=message_id)
    if existing is not None:
        return AnswerSummary.model_validate(existing)
    started = time.perf_counter()
    settings = get_settings()
    asker = principals.get(session, principal_id=message.principal_id)
    embedder = get_embedder()
    query = embedder.embed([message.text])[0]
    conversations.remember_query_embedding(session, message=message, embedding=query.tolist())
    grants = principals.access_grants(asker)
    curated = corrections.match(session, question=message.text, query_embedding=query.tolist(), grants=grants)
    draft: DraftAnswer
    if curated is not None:
        sources = passage_lookup.by_chunk_ids(
            session, chunk_ids=curated.cited_chunk_ids, score=curated.similarity
        )
        draft = curated_answer(curated.text, sources)
    else:
        passages = knowledge.search(
            session,
            question=message.text,
            query_embedding=query,
            scope=knowledge.read_scope(session, principal_ids=[asker.id]),
            k=settings.retrieval.top_k,
        )
        draft = compose_answer(
            message.text,
            passages,
            llm=get_llm_client(),
            min_similarity=settings.retrieval.min_similarity,
            min_support=settings.llm.min_support,
        )
    stored = conversations.store_answer(
        session,
        message=message,
        draft=draft,
        processing_ms=(time.perf_counter() - started) * 1000,
        settings={
            "embedding_model": embedder.name,
            "top_k": settings.retrieval.top_k,
            "ef_search": settings.retrieval.hnsw_ef_search,
            "min_similarity": settings.retrieval.min_similarity,
            "min_support": settings.llm.min_support,
            "llm_base_url": settings.llm.base_url,
            "correction_id": str(curated.correction_id) if curated else None,
            "retrieval": knowledge.retrieval_settings(),
        },
    )
    return AnswerSummary.model_validate(stored)


def llm_healthy() -> bool:
    """Whether the configured model endpoint answers (False when none is configured)."""
    client = get_llm_client()
    return client is not None and client.healthy()
