"""Real Plinth processes for tests, started the way production starts them (`python -m app.cli ...`)."""

from __future__ import annotations

import itertools
import os
import subprocess
import sys
import time
from collections.abc import Mapping
from pathlib import Path

import redis
from celery import Celery

import app.runtime.processes as runtime_processes
from app.runtime.redis_server import BundledRedis

REPO = Path(__file__).resolve().parents[2]
# Redis databases for stacks that run a worker of their own (database 0 is the session-wide system's;
# 7 and 8 are for tests that want a database no worker consumes).
_STACK_DATABASES = itertools.cycle([n for n in range(1, 16) if n not in (7, 8)])


def private_redis_url(redis_server: BundledRedis) -> str:
    """An emptied Redis database of the bundled server for one stack: its worker then takes only its
    own stack's tasks (a worker of another stack would look for them in another database and drop them),
    and its ping answers only for it."""
    url = redis_server.url.rsplit("/", 1)[0] + f"/{next(_STACK_DATABASES)}"
    redis.Redis.from_url(url).flushdb()
    return url


def plinth_env(overrides: Mapping[str, str]) -> dict[str, str]:
    env = {k: v for k, v in os.environ.items() if not k.startswith("PLINTH_")}
    env.update(overrides)
    env["PYTHONUNBUFFERED"] = "1"
    return env


def start_worker(
    env: Mapping[str, str], log_file: Path, *, redis_url: str
) -> runtime_processes.ManagedProcess:
    worker = runtime_processes.ManagedProcess(
        "worker", [sys.executable, "-m", "app.cli", "worker"], dict(env), log_file, stop_timeout_s=30
    )
    worker.start()
    probe = Celery(broker=redis_url)
    deadline = time.monotonic() + 120
    while not probe.control.ping(timeout=1.0, limit=1):
        if worker.exited() is not None or time.monotonic() > deadline:
            worker.stop()
            raise RuntimeError(f"worker did not come up:\n{log_file.read_text()[-3000:]}")
    return worker


def run_cli(*args: str, env: Mapping[str, str], timeout: float = 300) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [sys.executable, "-m", "app.cli", *args],
        env=dict(env),
        cwd=REPO,
        capture_output=True,
        text=True,
        timeout=timeout,
        check=False,
    )
