"""The one settings tree. Every value comes from `PLINTH_*` environment variables (nested sections use a
single underscore after the section name, e.g. `PLINTH_LLM_BASE_URL`) or its default here."""

from __future__ import annotations

import functools
import secrets
from collections.abc import Callable
from pathlib import Path
from typing import Literal, TypeVar

from pydantic import BaseModel, Field, SecretStr, model_validator
from pydantic_settings import BaseSettings, SettingsConfigDict

from app.core import runtime_state
from app.core.errors import ConfigurationError

T = TypeVar("T")


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
    concurrency: int = 2


class EmbeddedSettings(BaseModel):
    """Tuning of the servers `plinth up` starts itself."""

    postgres_port: int = 0  # 0: pick a free port once and keep it
    postgres_shared_buffers: str = "256MB"
    postgres_maintenance_work_mem: str = "1GB"
    redis_port: int = 0
    redis_probe_local: bool = True  # use 127.0.0.1:6379 when it answers


class RoleRule(BaseModel):
    """Grant `role` to whoever's ID token (or userinfo) claim `claim` holds `value` (a shell-style
    pattern; the claim may be a string or a list, and a dotted path reaches nested claims)."""

    claim: str
    value: str
    role: Literal["admin", "compliance", "viewer", "audit_payloads"]


class ConsoleSettings(BaseModel):
    """The web console at / of the API port: OIDC sign-in, sessions, the break-glass local admin."""

    # External base URL (https://plinth.example.com); unset: taken from each request.
    public_url: str | None = None
    oidc_issuer: str | None = None  # discovery at <issuer>/.well-known/openid-configuration
    oidc_client_id: str | None = None
    oidc_client_secret: SecretStr | None = None  # unset: a public client (PKCE only)
    oidc_scopes: str = "openid email profile"
    oidc_timeout_s: float = 5.0
    role_rules: list[RoleRule] = Field(default_factory=list)
    # The rules decide a signed-in user's roles at every sign-in (the provider is the source of truth).
    roles_from_claims: bool = True
    # The break-glass local admin is refused while OIDC is configured, unless this is set.
    allow_local_login: bool = False
    session_idle_minutes: int = 30
    session_absolute_hours: int = 12
    login_timeout_s: int = 600  # how long a started sign-in may take
    # How long the Audit page waits for a chain verification (the run itself continues to its end).
    verify_wait_s: float = 60.0

    @property
    def oidc_enabled(self) -> bool:
        return bool(self.oidc_issuer and self.oidc_client_id)

    @property
    def local_login_enabled(self) -> bool:
        return self.allow_local_login or not self.oidc_enabled


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


class EmailSettings(BaseModel):
    """The email front end: the SMTP listener, sender checks, loop prevention and outbound replies."""

    listen_host: str = "127.0.0.1"
    listen_port: int = 2525
    hostname: str = "plinth.local"  # our mail domain: the Message-IDs we generate, the HELO name
    # Recipients accepted besides the two fixed ones; plus-addressing (ask+team@) reaches the same box.
    question_address: str = "ask@plinth.local"
    documents_address: str = "docs@plinth.local"
    addresses: list[str] = Field(default_factory=list)
    max_message_bytes: int = 25 * 1024 * 1024
    max_recipients: int = 20
    max_line_bytes: int = 1001  # RFC 5321 4.5.3.1.6: 998 octets + CRLF + a transparent dot
    tls_cert_file: Path | None = None  # STARTTLS is offered when a certificate and key are configured
    tls_key_file: Path | None = None
    # Senders: known employees (principals by email) plus anyone at these domains.
    allowed_domains: list[str] = Field(default_factory=list)
    # Authentication-Results are trusted only from this authserv-id (the company MTA); others are ignored.
    trusted_authserv_id: str | None = None
    require_authentication: bool = False  # quarantine mail without a trusted DMARC/DKIM/SPF pass
    verify_dkim: bool = False  # verify DKIM signatures ourselves (needs DNS)
    messages_per_sender_per_hour: int = 30
    max_mime_depth: int = 20
    max_mime_parts: int = 500
    max_attachments: int = 50
    max_archive_members: int = 100
    max_archive_bytes: int = 50 * 1024 * 1024  # uncompressed total of one archive
    max_archive_ratio: float = 100.0  # uncompressed / compressed; a zip bomb is far above this
    max_archive_depth: int = 2
    # Outbound: an SMTP relay; in the embedded default the local sink `plinth up` starts.
    relay_host: str = "127.0.0.1"
    relay_port: int = 2526
    relay_username: str | None = None
    relay_password: SecretStr | None = None
    relay_starttls: bool = False
    relay_timeout_s: float = 10.0
    sink_dir: Path | None = None  # Maildir of the local sink; default PLINTH_HOME/mail/sink
    process_task_expires_s: int = 24 * 3600


class SlackSettings(BaseModel):
    """The Slack front end. HTTP mode (`/slack/events`) is on with the signing secret and either a bot
    token (single-workspace token mode) or an OAuth client id and secret (multi-workspace OAuth mode,
    installs at `install_path`). A bot token takes precedence: with one set, OAuth mode is off."""

    signing_secret: SecretStr | None = None
    bot_token: SecretStr | None = None  # single-workspace token mode (xoxb-...)
    # Multi-workspace OAuth mode: installations (tokens encrypted at rest) are kept in PostgreSQL.
    client_id: str | None = None
    client_secret: SecretStr | None = None
    scopes: list[str] = Field(
        default_factory=lambda: [
            "app_mentions:read",
            "channels:history",
            "channels:read",
            "chat:write",
            "commands",
            "files:read",
            "groups:history",
            "groups:read",
            "im:history",
            "im:read",
            "users:read",
            "users:read.email",
        ]
    )
    user_scopes: list[str] = Field(default_factory=list)
    install_path: str = "/slack/install"
    redirect_uri_path: str = "/slack/oauth_redirect"
    redirect_uri: str | None = None  # the full public redirect URL, when the app lists more than one
    authorize_url: str = "https://slack.com/oauth/v2/authorize"
    oauth_state_expiration_s: int = 600  # an install must come back within this long, once
    # Fernet keys for the stored tokens, newest first (comma-separated): the first encrypts, all
    # decrypt. Unset: one key kept in token_key_file (default PLINTH_HOME/keys/slack-tokens.key).
    token_keys: SecretStr | None = None
    token_key_file: Path | None = None
    app_token: SecretStr | None = None  # Socket Mode (xapp-...)
    api_base_url: str = "https://slack.com/api/"
    timeout_s: float = 10.0
    max_retries: int = 5  # per Web API call, on 429 (honouring Retry-After), 5xx and connection errors
    escalation_channel: str | None = None  # where "Escalate to a human" posts (channel id)
    answer_with_external_members: bool = False  # Slack Connect channels are refused unless this is set
    placeholder_text: str = "Working on it…"
    progress_interval_s: float = 1.2  # at most one chat.update of a streamed answer this often
    stale_source_days: int = 365  # a cited source older than this gets a warning
    members_ttl_s: float = 600.0  # how long a channel's synced member list is trusted

    @property
    def oauth_enabled(self) -> bool:
        """OAuth mode: signing secret, client id and secret set, and no bot token (which wins)."""
        return (
            self.signing_secret is not None
            and self.client_id is not None
            and self.client_secret is not None
            and self.bot_token is None
        )

    @property
    def http_enabled(self) -> bool:
        return self.signing_secret is not None and (self.bot_token is not None or self.oauth_enabled)


class Settings(BaseSettings):
    model_config = SettingsConfigDict(
        env_prefix="PLINTH_",
        env_nested_delimiter="_",
        env_nested_max_split=1,
        extra="ignore",
    )

    environment: Literal["development", "production"] = "development"
    home: Path = Path(".plinth")
    database_url: SecretStr | None = None
    redis_url: SecretStr | None = None
    log_level: str = "INFO"
    # Set for processes that share one metrics directory (prometheus_client multiprocess mode).
    prometheus_multiproc_dir: Path | None = Field(default=None, validation_alias="PROMETHEUS_MULTIPROC_DIR")

    api: ApiSettings = Field(default_factory=ApiSettings)
    embedding: EmbeddingSettings = Field(default_factory=EmbeddingSettings)
    llm: LlmSettings = Field(default_factory=LlmSettings)
    local_llm: LocalLlmSettings = Field(default_factory=LocalLlmSettings)
    retrieval: RetrievalSettings = Field(default_factory=RetrievalSettings)
    limits: LimitSettings = Field(default_factory=LimitSettings)
    chunking: ChunkingSettings = Field(default_factory=ChunkingSettings)
    corrections: CorrectionSettings = Field(default_factory=CorrectionSettings)
    worker: WorkerSettings = Field(default_factory=WorkerSettings)
    embedded: EmbeddedSettings = Field(default_factory=EmbeddedSettings)
    console: ConsoleSettings = Field(default_factory=ConsoleSettings)
    audit: AuditSettings = Field(default_factory=AuditSettings)
    usage: UsageSettings = Field(default_factory=UsageSettings)
    cache: CacheSettings = Field(default_factory=CacheSettings)
    tracing: TracingSettings = Field(default_factory=TracingSettings)
    queue: QueueSettings = Field(default_factory=QueueSettings)
    email: EmailSettings = Field(default_factory=EmailSettings)
    slack: SlackSettings = Field(default_factory=SlackSettings)
    knowledge: KnowledgeSettings = Field(default_factory=KnowledgeSettings)

    @model_validator(mode="after")
    def _resolve(self) -> Settings:
        self.home = self.home.expanduser().resolve()
        # While `plinth up` runs, other commands on the same home reach the servers it started.
        state = runtime_state.read(self.home)
        if state is not None:
            if self.database_url is None and state.database_url:
                self.database_url = SecretStr(state.database_url)
            if self.redis_url is None and state.redis_url:
                self.redis_url = SecretStr(state.redis_url)
        if self.environment == "production" and self.api.token is None:
            raise ValueError("PLINTH_API_TOKEN must be set when PLINTH_ENVIRONMENT=production")
        return self

    @property
    def keys_dir(self) -> Path:
        return self.home / "keys"

    @property
    def blobs_dir(self) -> Path:
        return self.home / "blobs"

    @property
    def logs_dir(self) -> Path:
        return self.home / "logs"

    @property
    def run_dir(self) -> Path:
        return self.home / "run"

    def require_database_url(self) -> str:
        if self.database_url is None:
            raise ConfigurationError(
                "no database configured: start the system with `plinth up` (same PLINTH_HOME) "
                "or set PLINTH_DATABASE_URL"
            )
        return self.database_url.get_secret_value()

    def require_redis_url(self) -> str:
        if self.redis_url is None:
            raise ConfigurationError(
                "no Redis configured: start the system with `plinth up` (same PLINTH_HOME) "
                "or set PLINTH_REDIS_URL"
            )
        return self.redis_url.get_secret_value()

    def api_token(self) -> str:
        """The effective API token (generated and kept under PLINTH_HOME in development)."""
        if self.api.token is not None:
            return self.api.token.get_secret_value()
        path = self.keys_dir / "api-token"
        if not path.exists():
            path.parent.mkdir(parents=True, exist_ok=True, mode=0o700)
            path.write_text(secrets.token_urlsafe(32))
            path.chmod(0o600)
        return path.read_text().strip()


@functools.cache
def get_settings() -> Settings:
    return Settings()


_dependent_cache_clears: list[Callable[[], None]] = []


def settings_scoped(fn: Callable[[], T]) -> Callable[[], T]:
    """Cache a zero-argument factory until the settings are reloaded."""
    cached = functools.cache(fn)
    _dependent_cache_clears.append(cached.cache_clear)
    return cached


def reset_settings_cache() -> None:
    get_settings.cache_clear()
    for clear in _dependent_cache_clears:
        clear()
