"""The one settings tree. Every value comes from `PLINTH_*` environment variables (nested sections use a
single underscore after the section name, e.g. `PLINTH_LLM_BASE_URL`) or its default here."""

from __future__ import annotations

import functools
import secrets
from collections.abc import Callable
from pathlib import Path
from typing import Literal, TypeVar

from pydantic import Field, SecretStr, model_validator
from pydantic_settings import BaseSettings, SettingsConfigDict

from app.core import runtime_state
from app.core.errors import ConfigurationError
from app.core.settings.front_ends import (
    ConsoleSettings,
    EmailSettings,
    SlackSettings,
)
from app.core.settings.sections import (
    ApiSettings,
    AuditSettings,
    CacheSettings,
    ChunkingSettings,
    CorrectionSettings,
    EmbeddedSettings,
    EmbeddingSettings,
    KnowledgeSettings,
    LimitSettings,
    LlmSettings,
    LocalLlmSettings,
    QueueSettings,
    RetrievalSettings,
    TracingSettings,
    UsageSettings,
    WorkerSettings,
)

T = TypeVar("T")


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
