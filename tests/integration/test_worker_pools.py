"""The thread-pool worker that answers: many answers wait on the model at once, each answered once; the
image's health check finds it."""

from __future__ import annotations

import subprocess
import sys
from collections.abc import Iterator
from pathlib import Path

import psutil
import pytest

from app.intake import submit_question
from app.runtime.postgres import EmbeddedPostgres
from app.runtime.redis_server import BundledRedis
from tests.conftest import Env
from tests.fakes.openai_server import StubServer
from tests.integration.conftest import ingest_file
from tests.support import databases
from tests.support.processes import REPO, plinth_env, private_redis_url
from tests.support.stack import Stack, answers_for, eventually
from workers import names

THREADS = 6
MODEL_DELAY_S = 5.0


@pytest.fixture
def stack(
    pg: EmbeddedPostgres, redis_server: BundledRedis, stub_llm: StubServer, env: Env, tmp_path: Path
) -> Iterator[Stack]:
    """A database and a broker database of its own: only this test's worker takes its tasks."""
    stub_llm.reset()
    name = databases.create_copy(pg, prefix="pools")
    redis_url = private_redis_url(redis_server)
    settings = {
        "PLINTH_HOME": str(tmp_path / "home"),
        "PLINTH_DATABASE_URL": pg.url(name),
        "PLINTH_REDIS_URL": redis_url,
        "PLINTH_LLM_BASE_URL": stub_llm.base_url,
    }
    env.set(**settings)
    running = Stack(env=settings, logs=tmp_path, redis_url=redis_url)
    yield running
    running.stop()
    stub_llm.reset()
    databases.drop(pg, name)


def test_a_thread_pool_worker_has_as_many_answers_with_the_model_as_it_has_threads(
    stack: Stack, stub_llm: StubServer, shared_data: Path
) -> None:
    ingest_file(shared_data / "qa" / "handbook-18F" / "pages" / "travel-and-leave" / "leave.md")
    worker = stack.worker(
        "--queues", ",".join(names.WAITING_QUEUES), "--pool", "threads", "--concurrency", str(THREADS)
    )
    stub_llm.state.delay_s = MODEL_DELAY_S
    asked = [
        submit_question(
            question=f"How do I request sick leave? ({n})", user=f"pool-asker-{n}", groups=None, channel="cli"
        )
        for n in range(THREADS + 2)
    ]
    eventually(
        lambda: all(answers_for(message_id) == 1 for message_id in asked),
        timeout_s=120,
        what="every question answered",
    )
    # One process held them all (a prefork pool would have had a child per call).
    assert stub_llm.state.most_waiting == THREADS
    assert worker.pid is not None
    assert psutil.Process(worker.pid).children(recursive=True) == []
    assert len(stub_llm.state.requests) == len(asked)


def test_the_image_healthcheck_finds_a_thread_pool_worker(stack: Stack) -> None:
    worker = stack.worker("--queues", ",".join(names.WAITING_QUEUES), "--pool", "threads")
    env = {**plinth_env(stack.env), "PATH": f"{Path(sys.executable).parent}:/usr/bin:/bin"}
    check = [str(REPO / "deploy" / "healthcheck.sh"), "worker"]
    healthy = subprocess.run(["sh", *check], env=env, capture_output=True, text=True, timeout=60, check=False)
    assert healthy.returncode == 0, healthy.stderr
    worker.stop()
    down = subprocess.run(["sh", *check], env=env, capture_output=True, text=True, timeout=60, check=False)
    assert down.returncode != 0
