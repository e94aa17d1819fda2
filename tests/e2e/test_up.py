"""`plinth up` as a user runs it: embedded PostgreSQL, bundled Redis, worker, beat and API; then
`plinth ingest` and `plinth ask --json` from another process; Ctrl-C; no process left; data kept."""

from __future__ import annotations

import json
import signal
import subprocess
import sys
import time
from collections.abc import Iterator
from pathlib import Path

import httpx
import psutil
import psycopg
import pytest

from app.runtime.postgres import free_port
from tests.fakes.openai_server import StubServer
from tests.support import email as email_support
from tests.support.processes import REPO, plinth_env, run_cli

pytestmark = pytest.mark.slow


class Up:
    def __init__(self, env: dict[str, str], log: Path) -> None:
        self.log = log
        self.process = subprocess.Popen(
            [sys.executable, "-m", "app.cli", "up"],
            env=env,
            cwd=REPO,
            stdout=log.open("w"),
            stderr=subprocess.STDOUT,
            start_new_session=True,
        )

    def wait_ready(self, timeout: float = 180) -> str:
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            text = self.log.read_text()
            if "Plinth is up." in text:
                return text
            if self.process.poll() is not None:
                pytest.fail(f"plinth up exited with {self.process.returncode}:\n{text}")
            time.sleep(0.5)
        pytest.fail(f"plinth up not ready in {timeout} s:\n{self.log.read_text()}")

    def owned(self, home: Path) -> list[psutil.Process]:
        """Its children, and the servers it daemonised (PostgreSQL detaches from its starter)."""
        children = psutil.Process(self.process.pid).children(recursive=True)
        daemons = [
            p for p in psutil.process_iter(["cmdline"]) if str(home) in " ".join(p.info["cmdline"] or [])
        ]
        return list({p.pid: p for p in [*children, *daemons]}.values())

    def interrupt(self) -> int:
        self.process.send_signal(signal.SIGINT)
        return self.process.wait(timeout=120)


@pytest.fixture
def ups() -> Iterator[list[Up]]:
    """Every `plinth up` a test starts is stopped afterwards, even when the test fails half-way."""
    ups: list[Up] = []
    yield ups
    for up in ups:
        if up.process.poll() is None:
            up.interrupt()


def _alive(processes: list[psutil.Process]) -> list[psutil.Process]:
    return [p for p in processes if p.is_running() and p.status() != psutil.STATUS_ZOMBIE]


def test_up_ingest_ask_stop_and_restart(
    tmp_path: Path, stub_llm: StubServer, shared_data: Path, ups: list[Up]
) -> None:
    home = tmp_path / "home"
    env = plinth_env(
        {
            "PLINTH_HOME": str(home),
            "PLINTH_API_PORT": str(free_port()),
            "PLINTH_EMBEDDED_REDIS_PROBE_LOCAL": "false",
            "PLINTH_LLM_BASE_URL": stub_llm.base_url,
            "PLINTH_EMAIL_LISTEN_PORT": str(free_port()),
            "PLINTH_EMAIL_RELAY_PORT": str(free_port()),
            "PLINTH_EMAIL_ALLOWED_DOMAINS": '["example.com"]',
        }
    )
    up = Up(env, tmp_path / "up.log")
    ups.append(up)
    banner = up.wait_ready()
    assert "embedded, data in" in banner
    assert "bundled server" in banner
    started = up.owned(home)
    names = {p.name() for p in started}
    assert {"postgres", "redis-server"} <= names, names
    commands = [p.cmdline() for p in started if "app.cli" in p.cmdline()]
    assert sum(c[c.index("app.cli") + 1] in ("beat", "api") for c in commands) == 2, commands
    # Answers, replies and sweeps on threads; ingestion on processes of its own.
    workers = {" ".join(c[c.index("--queues") :]) for c in commands if "worker" in c and "--queues" in c}
    assert workers == {"--queues answers,deliveries,maintenance --pool threads", "--queues ingest"}, workers

    # While it runs, its database URL is visible and usable with ordinary PostgreSQL clients.
    shown = run_cli("config", "show", "database_url", env=env)
    assert shown.returncode == 0, shown.stderr
    with psycopg.connect(shown.stdout.strip()) as conn:
        assert conn.execute("SELECT extname FROM pg_extension WHERE extname = 'vector'").fetchone() == (
            "vector",
        )

    leave = shared_data / "qa" / "handbook-18F" / "pages" / "travel-and-leave" / "leave.md"
    ingested = run_cli("ingest", str(leave), env=env)
    assert ingested.returncode == 0, ingested.stderr
    assert "ingested" in ingested.stdout

    refused = run_cli(
        "ingest",
        str(shared_data / "docs" / "unstructured__DA-1p.png"),
        str(tmp_path / "missing.pdf"),
        env=env,
    )
    assert refused.returncode == 1
    lines = refused.stderr.strip().splitlines()
    assert len(lines) == 2
    assert lines[0].startswith("refused ")
    assert "unstructured__DA-1p.png: the file is an image; OCR is not enabled" in lines[0]
    assert "missing.pdf: cannot read the file" in lines[1]

    asked = run_cli("ask", "--json", "How many hours of annual leave do I earn per pay period?", env=env)
    assert asked.returncode == 0, asked.stderr
    answer = json.loads(asked.stdout)
    assert answer["mode"] == "generated"
    assert answer["answered"] is True
    assert answer["citations"][0]["title"]
    assert answer["citations"][0]["source"] == "leave.md"
    assert {"chunk_id", "score"} <= set(answer["citations"][0])
    assert answer["latency_ms"] > 0

    # The worker's measurements reach the API's /metrics through the shared multiprocess directory.
    metrics = httpx.get(f"http://127.0.0.1:{env['PLINTH_API_PORT']}/metrics", timeout=10).text
    assert 'plinth_answers_total{answered="true",mode="generated"} 1.0' in metrics
    assert 'plinth_task_duration_seconds_count{outcome="success",task="plinth.answer"} 1.0' in metrics

    # A question by email is answered into the local sink the embedded default runs.
    assert f"SMTP         127.0.0.1:{env['PLINTH_EMAIL_LISTEN_PORT']}" in up.log.read_text()
    question = email_support.message(subject="Leave", body="How many hours of annual leave do I earn?")
    email_support.inbound_id(email_support.send(int(env["PLINTH_EMAIL_LISTEN_PORT"]), bytes(question)))
    replies = email_support.wait_until(
        lambda: email_support.sink_mail(home / "mail" / "sink"), timeout=180, what="the emailed answer"
    )
    assert replies[0]["In-Reply-To"] == question["Message-ID"]

    empty = run_cli("ask", "   ", env=env)
    assert empty.returncode == 2
    assert empty.stderr.strip() == "error: the question is empty"

    assert up.interrupt() == 0
    time.sleep(1)
    assert _alive(started) == [], f"left behind: {_alive(started)}"
    assert "Plinth stopped." in up.log.read_text()

    # A second run on the same home finds its data again.
    again = Up(env, tmp_path / "up2.log")
    ups.append(again)
    again.wait_ready()
    try:
        unchanged = run_cli("ingest", str(leave), env=env)
        assert unchanged.returncode == 0
        assert "unchanged" in unchanged.stdout
    finally:
        restarted = again.owned(home)
        assert again.interrupt() == 0
        time.sleep(1)
        assert _alive(restarted) == []


def test_up_names_the_dependency_that_is_down(tmp_path: Path) -> None:
    closed = free_port()
    base = {"PLINTH_HOME": str(tmp_path / "home"), "PLINTH_API_PORT": str(free_port())}
    no_db = run_cli(
        "up",
        env=plinth_env({**base, "PLINTH_DATABASE_URL": f"postgresql://x@127.0.0.1:{closed}/db"}),
        timeout=60,
    )
    assert no_db.returncode == 1
    assert "PostgreSQL at PLINTH_DATABASE_URL is not reachable" in no_db.stderr
    assert "fix PLINTH_DATABASE_URL" in no_db.stderr

    no_redis = run_cli(
        "up", env=plinth_env({**base, "PLINTH_REDIS_URL": f"redis://127.0.0.1:{closed}/0"}), timeout=120
    )
    assert no_redis.returncode == 1
    assert "Redis at PLINTH_REDIS_URL is not answering" in no_redis.stderr
