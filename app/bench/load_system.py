"""The scratch system `plinth bench load` runs against: everything `plinth up` runs (embedded
PostgreSQL, bundled Redis, the two Celery workers, beat and the API as real processes), with the documents
ingested and, unless another endpoint is given, the tests' stub of the OpenAI-compatible API."""

from __future__ import annotations

import os
import secrets
import shutil
import sys
import tempfile
from collections.abc import Iterator, Mapping
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path

from app.bench.slack_ack import checkout_support
from app.runtime import migrate
from app.runtime.postgres import EmbeddedPostgres, free_port
from app.runtime.processes import ManagedProcess, wait_until_ok
from app.runtime.redis_server import BundledRedis
from workers import names


@dataclass
class System:
    base_url: str
    token: str


@contextmanager
def scratch_system(
    *,
    docs: Path,
    llm_url: str | None,
    concurrency: int,
    busy_depth: int | None = None,
    settings: Mapping[str, str] | None = None,
) -> Iterator[System]:
    """Everything `plinth up` runs, on scratch servers removed afterwards; `concurrency` is the answer
    worker's threads (answers at once), `settings` are extra `PLINTH_*` variables for its processes."""
    root = Path(tempfile.mkdtemp(prefix="plinth-bench-load-"))
    stub = None
    if llm_url is None:
        # The stub is part of the repository's tests, not of the installed package: a checkout has it.
        openai_server, *_ = checkout_support()
        stub = openai_server.StubServer().start()
        llm_url = stub.base_url
    postgres = EmbeddedPostgres(root=root / "pg", shared_buffers="256MB")
    redis_server = BundledRedis(root=root / "redis", port=free_port())
    processes: list[ManagedProcess] = []
    try:
        postgres.start()
        redis_server.start()
        migrate.upgrade(postgres.url())
        port = free_port()
        token = secrets.token_urlsafe(32)
        env = {
            **{k: v for k, v in os.environ.items() if not k.startswith("PLINTH_")},
            "PYTHONUNBUFFERED": "1",
            "PLINTH_HOME": str(root / "home"),
            "PLINTH_DATABASE_URL": postgres.url(),
            "PLINTH_REDIS_URL": redis_server.url,
            "PLINTH_LLM_BASE_URL": llm_url,
            "PLINTH_WORKER_THREADS": str(concurrency),
            "PLINTH_API_TOKEN": token,
            **({"PLINTH_QUEUE_BUSY_DEPTH": str(busy_depth)} if busy_depth is not None else {}),
            **(settings or {}),
        }
        plinth = [sys.executable, "-m", "app.cli"]
        ingest = ManagedProcess("ingest", [*plinth, "ingest", str(docs)], env, root / "ingest.log")
        ingest.start()
        if ingest.process is None or ingest.process.wait(timeout=900) != 0:
            raise RuntimeError(f"ingesting {docs} failed; see {root / 'ingest.log'}")
        for name, command in (
            ("worker", [*plinth, "worker", "--queues", ",".join(names.WAITING_QUEUES), "--pool", "threads"]),
            # The documents are in already: one process takes files shared in Slack.
            (
                "worker-ingest",
                [*plinth, "worker", "--queues", ",".join(names.CPU_QUEUES), "--concurrency", "1"],
            ),
            ("beat", [*plinth, "beat"]),
            ("api", [*plinth, "api", "--port", str(port)]),
        ):
            processes.append(ManagedProcess(name, command, env, root / f"{name}.log", stop_timeout_s=60))
            processes[-1].start()
        base_url = f"http://127.0.0.1:{port}"
        if not wait_until_ok(f"{base_url}/readyz", timeout_s=180):
            raise RuntimeError(f"the scratch system did not become ready; see {root}")
        yield System(base_url=base_url, token=token)
    finally:
        for process in reversed(processes):
            process.stop()
        redis_server.stop()
        postgres.stop()
        if stub is not None:
            stub.stop()
        shutil.rmtree(root, ignore_errors=True)
