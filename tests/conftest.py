"""Shared fixtures. Servers are real: embedded PostgreSQL with pgvector, the bundled Redis server, a
real Celery worker process, and a stub of the OpenAI-compatible API speaking real HTTP."""

from __future__ import annotations

import os
from collections.abc import Iterator
from pathlib import Path

import pytest

from app.core.db import dispose_engines
from app.core.settings import reset_settings_cache
from app.runtime.postgres import EmbeddedPostgres
from app.runtime.redis_server import BundledRedis
from tests.fakes.openai_server import StubServer
from tests.support import databases

SHARED_DATA = Path(__file__).resolve().parents[2] / "shared" / "data"


@pytest.fixture(scope="session")
def shared_data() -> Path:
    if not SHARED_DATA.exists():
        pytest.fail(f"real-world test data not found at {SHARED_DATA}")
    return SHARED_DATA


@pytest.fixture(scope="session")
def pg(tmp_path_factory: pytest.TempPathFactory) -> Iterator[EmbeddedPostgres]:
    server = EmbeddedPostgres(root=tmp_path_factory.mktemp("pg"), shared_buffers="128MB")
    server.start()
    databases.create_template(server)
    yield server
    server.stop()


@pytest.fixture(scope="session")
def redis_server(tmp_path_factory: pytest.TempPathFactory) -> Iterator[BundledRedis]:
    server = BundledRedis(root=tmp_path_factory.mktemp("redis"))
    server.start()
    yield server
    server.stop()


@pytest.fixture(scope="session")
def stub_llm() -> Iterator[StubServer]:
    server = StubServer().start()
    yield server
    server.stop()


class Env:
    """The PLINTH_* environment of one test; every change reloads the settings."""

    def __init__(self, monkeypatch: pytest.MonkeyPatch, home: Path) -> None:
        self._monkeypatch = monkeypatch
        self.home = home
        for key in list(os.environ):
            if key.startswith("PLINTH_") or key == "PROMETHEUS_MULTIPROC_DIR":
                monkeypatch.delenv(key)
        self.set(PLINTH_HOME=str(home))

    def set(self, **values: str) -> None:
        for key, value in values.items():
            self._monkeypatch.setenv(key, value)
        reset_settings_cache()
        dispose_engines()

    def unset(self, *keys: str) -> None:
        for key in keys:
            self._monkeypatch.delenv(key, raising=False)
        reset_settings_cache()
        dispose_engines()

    def as_dict(self) -> dict[str, str]:
        return {k: v for k, v in os.environ.items() if k.startswith("PLINTH_")}


@pytest.fixture
def env(monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> Iterator[Env]:
    """A clean PLINTH_* environment with its own PLINTH_HOME."""
    yield Env(monkeypatch, tmp_path / "home")
    reset_settings_cache()
    dispose_engines()


@pytest.fixture
def database_url(pg: EmbeddedPostgres, env: Env) -> Iterator[str]:
    """A freshly migrated database of its own for this test, configured as PLINTH_DATABASE_URL."""
    name = databases.create_copy(pg)
    url = pg.url(name)
    env.set(PLINTH_DATABASE_URL=url)
    yield url
    dispose_engines()
    databases.drop(pg, name)
