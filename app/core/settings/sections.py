"""The settings sections of the services: API, models, retrieval, knowledge, workers, audit, usage,
cache, tracing and queues."""

from __future__ import annotations

from pathlib import Path
from typing import Literal

from pydantic import BaseModel, Field, SecretStr, model_validator


class ApiSettings(BaseModel):
    host: str = "127.0.0.1"
    port: int = 8000
    # Bearer token for /api/v1. In development an unset token is generated once and kept under
    # PLINTH_HOME/keys; outside development it must be set.
    token: SecretStr | None = None


class EmbeddingSettings(BaseModel):
    model: str = "all-MiniLM-L6-v2"
    dimensions: int = 384
    # Small batches and one intra-op thread per process: on the two-core machines measured (README,
    # "Ingestion benchmark"), batches of 64 spent 3× the CPU time per text of batches of 8–16, and two
    # threads spun against each other whenever the machine had other work. Scale with processes.
    batch_size: int = 16
    torch_threads: int = 1
    # Copies of the model a process may load when threads embed at once (one copy is not safe to call
    # from two threads); a long list of texts is also split over them, so one file uses every core.
    replicas: int = Field(default=2, ge=1)


class LlmSettings(BaseModel):
    base_url: str | None = None  # OpenAI-compatible endpoint, e.g. http://vllm:8000/v1
    model: str = "default"
    api_key: SecretStr | None = None
    connect_timeout_s: float = 2.0
    read_timeout_s: float = 60.0
    max_output_tokens: int = 512
    temperature: float = 0.1
    # Share of a generated answer's content words that must occur in the passages it rests on.
    min_support: float = 0.6
    # Tried in order after base_url when it fails (JSON list in PLINTH_LLM_FALLBACK_URLS).
    fallback_urls: list[str] = Field(default_factory=list)
    context_length: int = 8192  # of the configured model; the registry's value wins for its models
    max_prompt_tokens: int = 6000
    total_timeout_s: float = 120.0  # a whole streamed completion, however steadily it trickles
    retries: int = 2  # per endpoint, on connection errors and 5xx only
    retry_backoff_s: float = 0.2  # random exponential: up to 0.2, 0.4, ... seconds (capped at 2)
    breaker_fail_max: int = 5  # consecutive failed calls that open an endpoint's circuit
    breaker_reset_s: float = 30.0  # how long an open circuit refuses before one trial call
    progress_interval_s: float = 0.5  # at most one on_progress call per interval while streaming
    history_turns: int = 3  # earlier turns of a thread given with a follow-up question


class LocalLlmSettings(BaseModel):
    """The optional small model `plinth up` can serve itself (see `make local-llm`)."""

    enabled: bool = False
    port: int = 8081
    threads: int = 2


class RetrievalSettings(BaseModel):
    top_k: int = 5
    hnsw_ef_search: int = 100
    min_similarity: float = 0.25  # below this the best passage does not count as an answer


class LimitSettings(BaseModel):
    max_question_chars: int = 4000
    max_file_bytes: int = 100 * 1024 * 1024
    max_pages: int = 2000
    answer_wait_s: float = 120.0
    answer_task_expires_s: int = 900


class ChunkingSettings(BaseModel):
    chunk_tokens: int = 200  # word pieces; the embedding model reads at most 256
    overlap_tokens: int = 30


class KnowledgeSettings(BaseModel):
    """Ingestion gates and hybrid retrieval (dense HNSW + full text, reciprocal rank fusion)."""

    retrieval_mode: Literal["hybrid", "dense"] = "hybrid"
    rrf_k: int = 60
    dense_weight: float = 1.0
    text_weight: float = 1.0  # tuned on the XQuAD English and German sets (see README)
    candidates: int = 40  # per retriever, before fusion
    # Iterative HNSW scans (pgvector 0.8) keep filtered queries returning k rows; this bounds the work.
    max_scan_tuples: int = 20_000
    text_search_configs: list[str] = Field(default_factory=lambda: ["english", "german"])
    max_garbled_ratio: float = 0.15
    max_attachment_depth: int = 3
    embed_batch_chunks: int = 256  # chunks embedded and COPY-loaded per batch while streaming a file


class CorrectionSettings(BaseModel):
    # Cosine similarity above which a later question counts as the one an approved correction answers.
    match_similarity: float = 0.9
    max_chars: int = 8000


class WorkerSettings(BaseModel):
    # A prefork worker's processes: work that needs a core each (parsing and embedding documents).
    concurrency: int = 2
    # A thread-pool worker's threads: work that mostly waits (answers on the model, replies to Slack and
    # mail, maintenance), so this many answers can be with the model at once.
    threads: int = 16


class EmbeddedSettings(BaseModel):
    """Tuning of the servers `plinth up` starts itself."""

    postgres_port: int = 0  # 0: pick a free port once and keep it
    postgres_shared_buffers: str = "256MB"
    postgres_maintenance_work_mem: str = "1GB"
    redis_port: int = 0
    redis_probe_local: bool = True  # use 127.0.0.1:6379 when it answers


class AuditSettings(BaseModel):
    """The audit store: the database role application sessions run as, chaining, checkpoints, signing."""

    # Application sessions switch to this role on connect (created by the migrations: DML on the public
    # tables, append and read only on the audit schema). Empty: keep the login's own role.
    session_role: str = "plinth_app"
    chain_batch: int = 2000  # committed events sealed into the chain per transaction
    chain_wait_s: float = 5.0  # how long a commit waits for its events to be chained (then the sweep does)
    checkpoint_every_events: int = 10_000
    checkpoint_every_minutes: float = 15.0
    maintenance_interval_s: float = 30.0  # beat: chain stragglers, checkpoint when due
    checkpoint_dir: Path | None = None  # write-once directory; default PLINTH_HOME/audit/checkpoints
    signer: str = "file"  # registered signer name
    signing_key_file: Path | None = (
        None  # Ed25519 private key (PEM); default PLINTH_HOME/keys/audit-signing.pem
    )
    page_size_max: int = 1000
    # Worker processes that recompute long ranges in `verify` (0: one per CPU; 1: all in the calling one).
    verify_processes: int = 0


class UsageSettings(BaseModel):
    """How tokens become cost, and the defaults budgets fall back to."""

    # per_1k: price per 1k prompt/completion tokens; gpu_hour: an hour of GPU spread over the tokens
    # the endpoint was measured to serve in that hour.
    cost_mode: Literal["per_1k", "gpu_hour"] = "per_1k"
    # Prices of the endpoints configured in the settings (the registry's models carry their own).
    price_in_per_1k: float = 0.0
    price_out_per_1k: float = 0.0
    gpu_hour_cost: float | None = None
    throughput_tokens_per_s: float | None = None
    currency: str = "USD"


class CacheSettings(BaseModel):
    """The answer cache and the embedding cache."""

    enabled: bool = True
    ttl_s: int = 24 * 3600
    embedding_cache_size: int = 4096  # texts whose embeddings are kept in memory per process


class TracingSettings(BaseModel):
    """Langfuse: off unless both keys are set. Exports happen in the background; a slow or absent
    Langfuse never delays an answer."""

    langfuse_host: str = "http://127.0.0.1:3000"
    langfuse_public_key: str | None = None
    langfuse_secret_key: SecretStr | None = None
    environment: str = "development"
    flush_timeout_s: float = 2.0
    # Salt for the pseudonymous user ids sent to Langfuse (unset: one is generated under PLINTH_HOME).
    pseudonym_salt: SecretStr | None = None

    @property
    def enabled(self) -> bool:
        return bool(self.langfuse_public_key and self.langfuse_secret_key)


class QueueSettings(BaseModel):
    """Queue discipline: retries, time limits, the outbox relay, beat locks, backpressure."""

    retry_max: int = 8  # retries of a task failing with a transient error, then it is dead-lettered
    retry_backoff_s: float = 2.0  # base of the exponential backoff (full jitter)
    retry_backoff_max_s: float = 120.0
    task_soft_time_limit_s: int = 300  # the task gets an exception it can clean up after
    task_time_limit_s: int = 360  # the pool process running it is killed
    # Redis redelivers a task not acknowledged in this time: longer than the longest task.
    visibility_timeout_s: int = 3600
    outbox_relay_interval_s: float = 10.0  # beat: send outbox entries whose after-commit send failed
    outbox_grace_s: float = 5.0  # leave this long to the after-commit send before the relay steps in
    outbox_keep_sent_days: float = 7.0
    beat_lock_ttl_s: int = 300  # a periodic job's lock lapses after this if its holder dies
    busy_depth: int = 50  # answers waiting past this: new questions are told it will take a while
    busy_notice: str = "Plinth is busy right now; your question is queued and will be answered shortly."
    # API replicas in production may be ready without a worker (workers scale on queue depth).
    readiness_requires_worker: bool = True

    @model_validator(mode="after")
    def _visibility_exceeds_tasks(self) -> QueueSettings:
        if not self.task_soft_time_limit_s < self.task_time_limit_s < self.visibility_timeout_s:
            raise ValueError(
                "queue time limits must satisfy soft limit < hard limit < visibility timeout (got "
                f"{self.task_soft_time_limit_s} < {self.task_time_limit_s} < {self.visibility_timeout_s})"
            )
        return self
