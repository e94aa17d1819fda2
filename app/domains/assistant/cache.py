"""The answer cache. A key covers everything an answer depends on: the normalised question, the
permission scope it was answered for, the corpus version (bumped by every ingestion, deletion, access
change and approved correction), the models and the prompt version. So an answer is never served to a
different scope, nor after anything it rests on has changed."""

from __future__ import annotations

import hashlib
import json
import uuid
from collections.abc import Sequence
from dataclasses import dataclass, replace
from datetime import timedelta

from sqlalchemy import delete, or_, select
from sqlalchemy.dialects.postgresql import insert as pg_insert
from sqlalchemy.orm import Session

from app.core.db import utcnow
from app.core.settings import get_settings
from app.domains.assistant.models import CachedAnswer
from app.domains.corrections import service as corrections
from rag import passages as passage_lookup
from rag.generation import Citation, DraftAnswer
from rag.llm import Endpoint


@dataclass(frozen=True)
class CacheKey:
    digest: str
    corpus_version: int


def key_for(
    *,
    question: str,
    scope: Sequence[Sequence[str]] | str,
    corpus_version: int,
    endpoints: Sequence[Endpoint],
    prompt_version: str,
    retrieval: dict[str, object],
) -> CacheKey:
    material = {
        "question": corrections.normalize_question(question),
        "scope": scope if isinstance(scope, str) else sorted(sorted(g) for g in scope),
        "corpus": corpus_version,
        "models": [[e.name, e.base_url, e.model] for e in endpoints],
        "prompt": prompt_version,
        "retrieval": retrieval,
    }
    encoded = json.dumps(material, sort_keys=True, separators=(",", ":"), default=str).encode()
    return CacheKey(hashlib.sha256(encoded).hexdigest(), corpus_version)


def lookup(session: Session, *, key: CacheKey) -> tuple[DraftAnswer, uuid.UUID] | None:
    """The cached draft (citations re-read from their chunks) and the answer it was first given as."""
    row = session.scalar(
        select(CachedAnswer).where(CachedAnswer.key == key.digest, CachedAnswer.expires_at > utcnow())
    )
    if row is None:
        return None
    payload = row.payload
    cited = payload["citations"]
    found = {
        p.chunk_id: p
        for p in passage_lookup.by_chunk_ids(session, chunk_ids=[c["chunk_id"] for c in cited], score=0.0)
    }
    if len(found) != len(cited):
        return None  # a cited chunk is gone: recompute rather than cite what no longer exists
    citations = [Citation(c["number"], replace(found[c["chunk_id"]], score=c["score"])) for c in cited]
    draft = DraftAnswer(
        text=payload["text"],
        mode=payload["mode"],
        answered=payload["answered"],
        confidence=payload["confidence"],
        citations=citations,
        fallback_reason=payload.get("fallback_reason"),
        prompt_version=payload.get("prompt_version"),
    )
    return draft, row.answer_id


def cacheable(draft: DraftAnswer) -> bool:
    """Only generated answers: extractive fallbacks would hide a recovered model, curated answers are
    matched afresh, refusals depend on the moment."""
    return draft.mode == "generated" and draft.answered


def store(session: Session, *, key: CacheKey, draft: DraftAnswer, answer_id: uuid.UUID) -> None:
    now = utcnow()
    payload = {
        "text": draft.text,
        "mode": draft.mode,
        "answered": draft.answered,
        "confidence": draft.confidence,
        "fallback_reason": draft.fallback_reason,
        "prompt_version": draft.prompt_version,
        "model": draft.completion.model if draft.completion else None,
        "citations": [
            {"number": c.number, "chunk_id": c.passage.chunk_id, "score": c.passage.score}
            for c in draft.citations
        ],
    }
    session.execute(
        pg_insert(CachedAnswer)
        .values(
            key=key.digest,
            corpus_version=key.corpus_version,
            answer_id=answer_id,
            payload=payload,
            created_at=now,
            expires_at=now + timedelta(seconds=get_settings().cache.ttl_s),
        )
        .on_conflict_do_nothing(index_elements=["key"])
    )
    # Entries of older corpus versions can never be hit again.
    session.execute(
        delete(CachedAnswer).where(
            or_(CachedAnswer.corpus_version < key.corpus_version, CachedAnswer.expires_at <= now)
        )
    )
