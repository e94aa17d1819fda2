"""Fault tests: real worker, beat and API processes against their own PostgreSQL and Redis (which the
tests stop and restart), answering through the stub LLM. Time limits and retries are shortened so a
redelivery or a retry happens within seconds rather than an hour."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import pytest
import redis

from app.runtime.postgres import EmbeddedPostgres
from app.runtime.redis_server import BundledRedis
from tests.conftest import Env
from tests.fakes.openai_server import StubServer
from tests.integration.conftest import ingest_file
from tests.support import databases
from tests.support.stack import Stack

# Shortened queue discipline: a task not acknowledged in 40 s is redelivered (an answer takes a few
# seconds, more on a loaded machine), retries back off for at most 3 s, the outbox relay runs every 2 s.
CHAOS_QUEUE = {
    "PLINTH_QUEUE_TASK_SOFT_TIME_LIMIT_S": "30",
    "PLINTH_QUEUE_TASK_TIME_LIMIT_S": "35",
    "PLINTH_QUEUE_VISIBILITY_TIMEOUT_S": "40",
    "PLINTH_QUEUE_RETRY_MAX": "6",
    "PLINTH_QUEUE_RETRY_BACKOFF_S": "1",
    "PLINTH_QUEUE_RETRY_BACKOFF_MAX_S": "3",
    "PLINTH_QUEUE_OUTBOX_RELAY_INTERVAL_S": "2",
    "PLINTH_QUEUE_OUTBOX_GRACE_S": "1",
    "PLINTH_WORKER_CONCURRENCY": "1",
}


@pytest.fixture(scope="session")
def chaos_pg(tmp_path_factory: pytest.TempPathFactory) -> Iterator[EmbeddedPostgres]:
    server = EmbeddedPostgres(root=tmp_path_factory.mktemp("chaos-pg"), shared_buffers="64MB")
    server.start()
    databases.create_template(server)
    yield server
    server.stop()


@pytest.fixture(scope="session")
def chaos_redis(tmp_path_factory: pytest.TempPathFactory) -> Iterator[BundledRedis]:
    server = BundledRedis(root=tmp_path_factory.mktemp("chaos-redis"))
    server.start()
    yield server
    server.stop()


@pytest.fixture
def stack(  # noqa: PLR0917 - pytest passes fixtures positionally
    chaos_pg: EmbeddedPostgres,
    chaos_redis: BundledRedis,
    stub_llm: StubServer,
    env: Env,
    tmp_path: Path,
    shared_data: Path,
) -> Iterator[Stack]:
    """A fresh database (one handbook page ingested) and an empty broker; processes start on demand."""
    if not chaos_redis.process or chaos_redis.process.poll() is not None:
        chaos_redis.start()
    redis.Redis.from_url(chaos_redis.url).flushall()
    stub_llm.reset()
    name = databases.create_copy(chaos_pg, prefix="chaos")
    settings = {
        "PLINTH_HOME": str(tmp_path / "home"),
        "PLINTH_DATABASE_URL": chaos_pg.url(name),
        "PLINTH_REDIS_URL": chaos_redis.url,
        "PLINTH_LLM_BASE_URL": stub_llm.base_url,
        **CHAOS_QUEUE,
    }
    env.set(**settings)
    ingest_file(
        shared_data / "qa" / "handbook-18F" / "pages" / "travel-and-leave" / "leave.md", access=["org"]
    )
    running = Stack(env=settings, logs=tmp_path, redis_url=chaos_redis.url)
    yield running
    running.stop()
    stub_llm.reset()
    if not chaos_pg.is_running():
        chaos_pg.start()
    databases.drop(chaos_pg, name)
