"""Integration fixtures: a running worker (real process) and the settings it shares with the test."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import pytest

from app.core.blobs import FileBlobStore
from app.core.db import session_scope
from app.core.settings import get_settings
from app.domains.knowledge import service as knowledge
from app.domains.knowledge.schemas import IngestOutcome
from app.domains.principals import service as principals
from app.runtime.postgres import EmbeddedPostgres
from app.runtime.redis_server import BundledRedis
from audit import verify
from tests.conftest import Env
from tests.fakes.openai_server import StubServer
from tests.support import databases
from tests.support.processes import plinth_env, start_worker


def ingest_file(
    path: Path, *, access: list[str] | None = None, key: str | None = None, name: str | None = None
) -> IngestOutcome:
    """Ingest through the same service the CLI uses."""
    with path.open("rb") as stream, session_scope() as session:
        submitter = principals.ensure_local(session, handle="tester")
        return knowledge.ingest(
            session,
            blobs=FileBlobStore(get_settings().blobs_dir),
            stream=stream,
            original_name=name or path.name,
            source_name="test",
            source_key=key or str(path),
            channel="cli",
            submitted_by=submitter.id,
            access=access or ["org"],
        )


@pytest.fixture(scope="session")
def system(
    pg: EmbeddedPostgres,
    redis_server: BundledRedis,
    stub_llm: StubServer,
    tmp_path_factory: pytest.TempPathFactory,
) -> Iterator[dict[str, str]]:
    """One database with a real Celery worker consuming from the bundled Redis, generating through the
    stub LLM. Tests sharing it isolate themselves through unique users and access groups."""
    name = databases.create_copy(pg, prefix="system")
    home = tmp_path_factory.mktemp("system-home")
    settings_env = {
        "PLINTH_HOME": str(home),
        "PLINTH_DATABASE_URL": pg.url(name),
        "PLINTH_REDIS_URL": redis_server.url,
        "PLINTH_LLM_BASE_URL": stub_llm.base_url,
    }
    worker = start_worker(plinth_env(settings_env), home / "worker.log", redis_url=redis_server.url)
    yield settings_env
    worker.stop()
    databases.drop(pg, name)


@pytest.fixture
def system_env(system: dict[str, str], env: Env, stub_llm: StubServer) -> Env:
    env.set(**system)
    stub_llm.reset()
    return env


@pytest.fixture(params=["in-process", "workers"])
def verify_mode(request: pytest.FixtureRequest, monkeypatch: pytest.MonkeyPatch, env: Env) -> str:
    """Verification both ways: row by row in the test's process, and through worker processes over
    runs of three events (so runs begin and end around every tampered event and checkpoint)."""
    if request.param == "workers":
        monkeypatch.setattr(verify, "PARALLEL_MIN_EVENTS", 1)
        monkeypatch.setattr(verify, "VERIFY_BATCH", 3)
        env.set(PLINTH_AUDIT_VERIFY_PROCESSES="2")
    return str(request.param)
