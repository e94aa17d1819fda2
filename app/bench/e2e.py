"""`plinth bench e2e`: questions through the whole answer pipeline (record, budget check, cache,
embedding, retrieval, prompt, streamed model call, grounding, storage, usage, audit) against an
OpenAI-compatible endpoint that answers after a fixed delay L. Pipeline overhead = end-to-end - L.
Baseline: the same model call made directly with the LLM client (HTTP and streaming only)."""

from __future__ import annotations

import io
import os
import tempfile
import threading
import time
from collections.abc import Iterator, Sequence
from contextlib import contextmanager
from statistics import mean

import psycopg
from sqlalchemy import select

from app.bench.audit import scratch_database
from app.bench.llm_stub import DelayedModel
from app.bench.report import emit, machine, percentile
from app.core.blobs import FileBlobStore
from app.core.db import dispose_engines, session_scope
from app.core.settings import get_settings, reset_settings_cache
from app.domains.assistant import service as assistant
from app.domains.conversations import service as conversations
from app.domains.conversations.models import Answer, Message
from app.domains.knowledge import service as knowledge
from app.domains.principals import service as principals
from app.domains.usage.models import UsageRecord
from rag.llm import ChatMessage, get_llm_client

BENCH = "e2e"
POLICY = (
    "# Leave policy\n\nFull-time employees earn four hours of annual leave per pay period. "
    "Part-time employees earn one hour of annual leave for every twenty hours worked. "
    "Sick leave accrues at four hours per pay period for everyone. "
    "Unused annual leave carries over up to two hundred and forty hours.\n"
)
QUESTION = "How many hours of annual leave do full-time employees earn per pay period?"

# Synthetic chunks with random unit vectors: they grow the index without competing with the policy.
_FILL_SQL = """
INSERT INTO chunks (document_id, document_version_id, version_no, ordinal, title, source, heading, page,
                    text, token_count, embedding, access, active)
SELECT c.document_id, c.document_version_id, c.version_no, 1000 + g, 'Filler ' || g, 'filler.md', NULL,
       NULL, 'Filler paragraph number ' || g || ' about unrelated matters such as parking and catering.',
       12, l2_normalize((SELECT array_agg(random() - 0.5) FROM generate_series(1, 384) WHERE g > 0)::vector),
       ARRAY['org'], true
FROM generate_series(1, %(n)s) AS g, (SELECT * FROM chunks ORDER BY id LIMIT 1) AS c
"""


@contextmanager
def _environment(values: dict[str, str]) -> Iterator[None]:
    """The pipeline reads its settings from the environment; the benchmark points them at its servers."""
    saved = {k: os.environ.get(k) for k in values}
    os.environ.update(values)
    reset_settings_cache()
    try:
        yield
    finally:
        for key, value in saved.items():
            if value is None:
                os.environ.pop(key, None)
            else:
                os.environ[key] = value
        reset_settings_cache()
        dispose_engines()


def _seed(url: str, chunks: int) -> None:
    with session_scope() as session:
        submitter = principals.ensure_local(session, handle="bench-admin")
        knowledge.ingest(
            session,
            blobs=FileBlobStore(get_settings().blobs_dir),
            stream=io.BytesIO(POLICY.encode()),
            original_name="leave-policy.md",
            source_name="bench",
            source_key="bench:leave-policy",
            channel="cli",
            submitted_by=submitter.id,
            access=["org"],
        )
    with psycopg.connect(url, autocommit=True) as conn:
        have = conn.execute("SELECT count(*) FROM chunks").fetchone()
        missing = chunks - (have[0] if have else 0)
        if missing > 0:
            conn.execute(_FILL_SQL, {"n": missing})
        conn.execute("ANALYZE chunks")


def _ask(handle: str, question: str) -> float:
    """Seconds from receiving the question to its answer being stored (committed)."""
    started = time.perf_counter()
    with session_scope() as session:
        asker = principals.ensure_local(session, handle=handle)
        receipt = conversations.record_inbound(session, channel="api", principal_id=asker.id, text=question)
    with session_scope() as session:
        assistant.answer_message(session, message_id=receipt.message_id)
    return time.perf_counter() - started


def _concurrently(concurrency: int, jobs: Sequence[tuple[str, str]]) -> list[float]:
    times: list[float] = []
    lock = threading.Lock()
    pending = list(jobs)

    def worker() -> None:
        while True:
            with lock:
                if not pending:
                    return
                handle, question = pending.pop()
            elapsed = _ask(handle, question)
            with lock:
                times.append(elapsed)

    threads = [threading.Thread(target=worker) for _ in range(concurrency)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    return times


def _processing_ms(marker: str) -> list[float]:
    with session_scope() as session:
        rows = session.execute(
            select(Answer.processing_ms)
            .join(Message, Message.id == Answer.message_id)
            .where(Message.text.contains(marker))
        ).scalars()
        return list(rows)


def _direct(concurrency: int, count: int) -> list[float]:
    client = get_llm_client()
    assert client is not None
    prompt = [ChatMessage("user", f'<source id="1" title="t">\n{POLICY}\n</source>\nQuestion: {QUESTION}')]
    times: list[float] = []
    lock = threading.Lock()

    def worker(n: int) -> None:
        for _ in range(n):
            started = time.perf_counter()
            client.complete(prompt)
            with lock:
                times.append(time.perf_counter() - started)

    threads = [threading.Thread(target=worker, args=(count // concurrency,)) for _ in range(concurrency)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    return times


def run(
    *,
    latency_s: float = 0.2,
    questions: int = 40,
    concurrencies: Sequence[int] = (1, 8),
    corpus_sizes: Sequence[int] = (1_000, 100_000),
    price_in_per_1k: float = 0.0005,
    price_out_per_1k: float = 0.0015,
) -> None:
    context = {**machine(), "latency_ms": latency_s * 1000}
    with (
        scratch_database() as url,
        DelayedModel(latency_s) as model,
        tempfile.TemporaryDirectory(prefix="plinth-bench-e2e-") as home,
    ):
        env = {
            "PLINTH_HOME": home,
            "PLINTH_DATABASE_URL": url,
            "PLINTH_LLM_BASE_URL": model.base_url,
            "PLINTH_USAGE_PRICE_IN_PER_1K": str(price_in_per_1k),
            "PLINTH_USAGE_PRICE_OUT_PER_1K": str(price_out_per_1k),
        }
        with _environment(env):
            _ask("bench-warmup", QUESTION)  # loads the embedding model and the tokenizer
            for chunks in sorted(corpus_sizes):
                _seed(url, chunks)
                for concurrency in concurrencies:
                    jobs = [
                        (f"bench-{chunks}-{concurrency}-{i % 8}", f"{QUESTION} (#{chunks}-{concurrency}-{i})")
                        for i in range(questions)
                    ]
                    overhead = [(t - latency_s) * 1000 for t in _concurrently(concurrency, jobs)]
                    direct = [(t - latency_s) * 1000 for t in _direct(concurrency, questions)]
                    fields = {**context, "concurrency": concurrency, "chunks": chunks, "questions": questions}
                    # Time inside answer_message before the answer is stored: the rest of the overhead
                    # is recording the question and committing (which waits for the audit chain).
                    inside = [ms - latency_s * 1000 for ms in _processing_ms(f"(#{chunks}-{concurrency}-")]
                    emit(
                        bench=BENCH,
                        variant="plinth",
                        metric="answer_processing_p50_ms",
                        value=percentile(inside, 50),
                        unit="ms",
                        **fields,
                    )
                    for q, metric in ((50, "overhead_p50_ms"), (95, "overhead_p95_ms")):
                        emit(
                            bench=BENCH,
                            variant="plinth",
                            metric=metric,
                            value=percentile(overhead, q),
                            unit="ms",
                            **fields,
                        )
                        emit(
                            bench=BENCH,
                            variant="baseline-direct-llm-call",
                            metric=metric,
                            value=percentile(direct, q),
                            unit="ms",
                            **fields,
                        )
            _cache_and_cost(context, questions, price_in_per_1k, price_out_per_1k)


def _cache_and_cost(context: dict[str, object], questions: int, price_in: float, price_out: float) -> None:
    for concurrency in (1, 8):
        _ask("bench-cache", QUESTION)  # fills the cache for this user's scope
        hits = _concurrently(concurrency, [("bench-cache", QUESTION)] * questions)
        emit(
            bench=BENCH,
            variant="plinth",
            metric="cache_hit_p95_ms",
            value=percentile([t * 1000 for t in hits], 95),
            unit="ms",
            concurrency=concurrency,
            **context,
        )
    with session_scope() as session:
        rows = session.execute(
            select(UsageRecord.prompt_tokens + UsageRecord.completion_tokens, UsageRecord.cost).where(
                ~UsageRecord.cached, UsageRecord.mode == "generated"
            )
        ).all()
    pricing = {"price_in_per_1k": price_in, "price_out_per_1k": price_out, "answers": len(rows)}
    emit(
        bench=BENCH,
        variant="plinth",
        metric="tokens_per_answer",
        value=mean(r[0] for r in rows) if rows else 0.0,
        unit="tokens",
        concurrency=1,
        **context,
        **pricing,
    )
    # In millionths of the currency: the report keeps four decimals.
    emit(
        bench=BENCH,
        variant="plinth",
        metric="cost_per_answer",
        value=mean(r[1] for r in rows) * 1e6 if rows else 0.0,
        unit=f"micro-{get_settings().usage.currency}",
        concurrency=1,
        **context,
        **pricing,
    )
