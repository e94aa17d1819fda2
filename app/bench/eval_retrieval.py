"""Retrieval quality on a SQuAD-format set: every paragraph ingested as a document through the real
pipeline, every question asked, the gold paragraph the target; hit@1, hit@5, MRR@10 and nDCG@10 for
dense-only and hybrid retrieval, side by side. Everything runs in one transaction that is rolled back,
so the knowledge base and the audit trail are left as they were."""

from __future__ import annotations

import io
import json
import math
import time
import uuid
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from app.bench.report import emit, machine
from app.core.blobs import default_blob_store
from app.core.db import session_scope
from app.core.settings import get_settings
from app.domains.knowledge import service as knowledge
from rag.embeddings import get_embedder

EVAL_GRANT_PREFIX = "eval:"
_K = 10


@dataclass(frozen=True)
class Question:
    text: str
    gold: str  # the source key of its paragraph


def load_squad(path: Path) -> tuple[dict[str, str], list[Question]]:
    """Paragraphs by key, and the questions with their gold paragraph's key."""
    data = json.loads(path.read_text(encoding="utf-8"))["data"]
    paragraphs: dict[str, str] = {}
    questions: list[Question] = []
    for article in data:
        for number, paragraph in enumerate(article["paragraphs"]):
            key = f"{article['title']}#{number}"
            paragraphs[key] = paragraph["context"]
            questions.extend(Question(text=qa["question"], gold=key) for qa in paragraph["qas"])
    return paragraphs, questions


def scores(ranks: Sequence[int | None]) -> dict[str, float]:
    """hit@1, hit@5, mrr@10, ndcg@10 over 1-based ranks of the gold document (None: not in the top 10)."""
    n = len(ranks) or 1
    found = [r for r in ranks if r is not None and r <= _K]
    return {
        "hit@1": sum(1 for r in found if r == 1) / n,
        "hit@5": sum(1 for r in found if r <= 5) / n,
        "mrr@10": sum(1 / r for r in found) / n,
        "ndcg@10": sum(1 / math.log2(r + 1) for r in found) / n,
    }


def _rank(keys: Sequence[str], gold: str) -> int | None:
    distinct = list(dict.fromkeys(keys))
    return distinct.index(gold) + 1 if gold in distinct else None


def run(
    *, dataset: Path, limit: int | None = None, text_weights: Sequence[float] = ()
) -> list[dict[str, Any]]:
    paragraphs, questions = load_squad(dataset)
    questions = questions[:limit] if limit else questions
    grant = f"{EVAL_GRANT_PREFIX}{uuid.uuid4()}"
    scope = knowledge.ReadScope(grant_sets=((grant,),))
    settings = get_settings().knowledge
    variants: list[tuple[str, dict[str, Any]]] = [
        ("dense", {"mode": "dense"}),
        ("hybrid", {"mode": "hybrid"}),
    ]
    variants += [("hybrid", {"mode": "hybrid", "text_weight": w}) for w in text_weights]
    lines: list[dict[str, Any]] = []
    blobs = default_blob_store()
    embedder = get_embedder()
    with session_scope() as session:
        started = time.perf_counter()
        key_of: dict[uuid.UUID, str] = {}
        for key, context in paragraphs.items():
            outcome = knowledge.ingest(
                session,
                blobs=blobs,
                stream=io.BytesIO(context.encode("utf-8")),
                original_name=f"{key}.txt",
                source_name=f"eval:{dataset.name}",
                source_key=key,
                channel="cli",
                submitted_by=None,
                access=[grant],
            )
            key_of[outcome.document_id] = key
        index_s = time.perf_counter() - started
        vectors = embedder.embed([q.text for q in questions])
        for variant, overrides in variants:
            started = time.perf_counter()
            ranks = []
            for question, vector in zip(questions, vectors, strict=True):
                passages = knowledge.search(
                    session,
                    question=question.text,
                    query_embedding=vector,
                    scope=scope,
                    k=_K,
                    overrides=overrides,
                )
                ranks.append(_rank([key_of[p.document_id] for p in passages], question.gold))
            elapsed = time.perf_counter() - started
            fields = {
                "dataset": dataset.name,
                "paragraphs": len(paragraphs),
                "questions": len(questions),
                "embedding_model": embedder.name,
                "text_weight": overrides.get("text_weight", settings.text_weight)
                if variant == "hybrid"
                else 0.0,
                "dense_weight": settings.dense_weight,
                "rrf_k": settings.rrf_k,
                "index_s": round(index_s, 1),
                "query_ms": round(elapsed * 1000 / max(len(questions), 1), 2),
                **machine(),
            }
            for metric, value in scores(ranks).items():
                lines.append(
                    emit(bench="eval", variant=variant, metric=metric, value=value, unit="ratio", **fields)
                )
        session.rollback()
    return lines
