"""`plinth up`: start the whole system on one machine, supervise it, and stop it cleanly on Ctrl-C or
SIGTERM, leaving no process behind."""

from __future__ import annotations

import os
import shutil
import signal
import sys
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from types import FrameType

import psycopg

from app.core import runtime_state
from app.core.db import libpq_url
from app.core.settings import Settings
from app.runtime import migrate
from app.runtime.local_llm import MODEL_NAME
from app.runtime.postgres import EmbeddedPostgres
from app.runtime.processes import ManagedProcess, wait_until_ok
from app.runtime.redis_server import BundledRedis, answers
from workers import names

LOCAL_REDIS_URL = "redis://127.0.0.1:6379/0"
READY_TIMEOUT_S = 180.0


class StartupError(Exception):
    """A dependency is missing or down; the message says which and how to fix it."""


@dataclass
class Supervisor:
    settings: Settings
    port: int
    say: Callable[[str], None] = print
    postgres: EmbeddedPostgres | None = field(default=None, init=False)
    redis: BundledRedis | None = field(default=None, init=False)
    children: list[ManagedProcess] = field(default_factory=list, init=False)
    stopping: bool = field(default=False, init=False)

    # -- dependencies -------------------------------------------------------------------------------
    def _database_url(self) -> tuple[str, str]:
        configured = self.settings.database_url
        if configured is not None:
            url = configured.get_secret_value()
            try:
                with psycopg.connect(libpq_url(url), connect_timeout=5):
                    pass
            except psycopg.Error as exc:
                raise StartupError(
                    f"PostgreSQL at PLINTH_DATABASE_URL is not reachable ({exc}). Start that server or fix "
                    "PLINTH_DATABASE_URL; unset it to use the embedded server instead."
                ) from exc
            return url, "configured server"
        embedded = self.settings.embedded
        self.postgres = EmbeddedPostgres(
            root=self.settings.home / "pg",
            shared_buffers=embedded.postgres_shared_buffers,
            maintenance_work_mem=embedded.postgres_maintenance_work_mem,
            port=embedded.postgres_port,
        )
        try:
            self.postgres.start()
        except Exception as exc:
            raise StartupError(
                f"the embedded PostgreSQL did not start ({exc}). See {self.postgres.log_file}; "
                "or set PLINTH_DATABASE_URL to use another server."
            ) from exc
        return self.postgres.url(), f"embedded, data in {self.postgres.data_dir}"

    def _redis_url(self) -> tuple[str, str]:
        configured = self.settings.redis_url
        if configured is not None:
            url = configured.get_secret_value()
            if not answers(url, 3.0):
                raise StartupError(
                    "Redis at PLINTH_REDIS_URL is not answering. Start that server or fix PLINTH_REDIS_URL; "
                    "unset it to use a local or the bundled server instead."
                )
            return url, "configured server"
        if self.settings.embedded.redis_probe_local and answers(LOCAL_REDIS_URL, 0.5):
            return LOCAL_REDIS_URL, "local server on 127.0.0.1:6379"
        self.redis = BundledRedis(root=self.settings.home / "redis", port=self.settings.embedded.redis_port)
        try:
            self.redis.start()
        except Exception as exc:
            raise StartupError(f"the bundled Redis did not start ({exc}); or set PLINTH_REDIS_URL.") from exc
        return self.redis.url, f"bundled server, data in {self.redis.root}"

    # -- processes ----------------------------------------------------------------------------------
    def _child_env(self, database_url: str, redis_url: str) -> dict[str, str]:
        metrics_dir = self.settings.run_dir / "metrics"
        shutil.rmtree(metrics_dir, ignore_errors=True)
        metrics_dir.mkdir(parents=True)
        return {
            **os.environ,
            "PLINTH_HOME": str(self.settings.home),
            "PLINTH_DATABASE_URL": database_url,
            "PLINTH_REDIS_URL": redis_url,
            "PROMETHEUS_MULTIPROC_DIR": str(metrics_dir),
            "PYTHONUNBUFFERED": "1",
        }

    def _local_llm_env(self) -> dict[str, str]:
        """Point answers at the local model when it is enabled and no other endpoint is configured."""
        local = self.settings.local_llm
        if not local.enabled or self.settings.llm.base_url:
            return {}
        return {"PLINTH_LLM_BASE_URL": f"http://127.0.0.1:{local.port}/v1", "PLINTH_LLM_MODEL": MODEL_NAME}

    def _spawn(self, env: dict[str, str]) -> None:
        plinth = [sys.executable, "-m", "app.cli"]
        logs = self.settings.logs_dir
        local_llm = self._local_llm_env()
        env = {**env, **local_llm}
        self.children = [
            ManagedProcess(
                "worker",
                [*plinth, "worker", "--queues", ",".join(names.WAITING_QUEUES), "--pool", "threads"],
                env,
                logs / "worker.log",
                stop_timeout_s=60,
            ),
            ManagedProcess(
                "worker-ingest",
                [*plinth, "worker", "--queues", ",".join(names.CPU_QUEUES)],
                env,
                logs / "worker-ingest.log",
                stop_timeout_s=60,
            ),
            ManagedProcess("beat", [*plinth, "beat"], env, logs / "beat.log"),
            ManagedProcess(
                "api",
                [*plinth, "api", "--host", self.settings.api.host, "--port", str(self.port)],
                env,
                logs / "api.log",
            ),
            ManagedProcess("smtp-sink", [*plinth, "smtp-sink"], env, logs / "smtp-sink.log"),
            ManagedProcess("smtp", [*plinth, "smtp"], env, logs / "smtp.log"),
        ]
        if local_llm:
            self.children.insert(
                0, ManagedProcess("local-llm", [*plinth, "local-llm"], env, logs / "local-llm.log")
            )
        for child in self.children:
            child.start()

    def _api_url(self) -> str:
        return f"http://{self.settings.api.host}:{self.port}"

    def _wait_ready(self) -> None:
        def alive() -> bool:
            self._check_children()
            return not self.stopping

        ready = wait_until_ok(f"{self._api_url()}/readyz", timeout_s=READY_TIMEOUT_S, alive=alive)
        if not ready and not self.stopping:
            raise StartupError(f"not ready after {READY_TIMEOUT_S:.0f} s; see {self.settings.logs_dir}")

    def _check_children(self) -> None:
        for child in self.children:
            code = child.exited()
            if code is None or self.stopping:
                continue
            if not child.restart_allowed():
                raise StartupError(f"{child.name} keeps exiting (last code {code}); see {child.log_file}")
            self.say(f"{child.name} exited with code {code}; restarting (log: {child.log_file})")
            child.start()

    # -- lifecycle ----------------------------------------------------------------------------------
    def _on_signal(self, signum: int, _: FrameType | None) -> None:
        if self.stopping:
            return
        self.stopping = True
        self.say(f"\n{signal.Signals(signum).name} received: stopping Plinth…")

    def run(self) -> int:
        home = self.settings.home
        running = runtime_state.read(home)
        if running is not None:
            raise StartupError(f"Plinth is already running on {home} (pid {running.supervisor_pid})")
        signal.signal(signal.SIGINT, self._on_signal)
        signal.signal(signal.SIGTERM, self._on_signal)
        try:
            return self._run()
        finally:
            self.shutdown()

    def _run(self) -> int:
        home = self.settings.home
        home.mkdir(parents=True, exist_ok=True)
        database_url, database_note = self._database_url()
        redis_url, redis_note = self._redis_url()
        runtime_state.write(
            home,
            runtime_state.RuntimeState(
                supervisor_pid=os.getpid(),
                database_url=database_url,
                redis_url=redis_url,
                api_url=self._api_url(),
            ),
        )
        self.say("applying database migrations…")
        migrate.upgrade(database_url)
        self._spawn(self._child_env(database_url, redis_url))
        self.say("starting workers, beat and API…")
        self._wait_ready()
        if self.stopping:
            return 0
        llm = (
            self.settings.llm.base_url
            or (self.settings.local_llm.enabled and f"local {MODEL_NAME} (loading takes about a minute)")
            or "not configured: answers are extractive (cited passages)"
        )
        email = self.settings.email
        self.say(
            "\nPlinth is up.\n"
            f"  API          {self._api_url()}   (token: {self.settings.keys_dir / 'api-token'})\n"
            f"  health       {self._api_url()}/readyz   metrics {self._api_url()}/metrics\n"
            f"  console      {self._api_url()}/   ({self._console_note()})\n"
            f"  PostgreSQL   {database_url}   ({database_note})\n"
            f"  Redis        {redis_url}   ({redis_note})\n"
            f"  LLM          {llm}\n"
            f"  SMTP         {email.listen_host}:{email.listen_port}   ({email.question_address}, "
            f"{email.documents_address}; replies to the sink in {self.settings.home / 'mail' / 'sink'})\n"
            f"  logs         {self.settings.logs_dir}\n"
            "Try:  plinth ingest README.md && plinth ask --json 'What does make up do?'\n"
            "Press Ctrl-C to stop."
        )
        while not self.stopping:
            self._check_children()
            time.sleep(0.5)
        return 0

    def _console_note(self) -> str:
        if self.settings.console.oidc_enabled:
            return f"sign-in with {self.settings.console.oidc_issuer}"
        return "sign-in as the local admin: plinth admin create --email E"

    def shutdown(self) -> None:
        self.stopping = True
        # Front door first, workers last, so accepted work can finish before the servers go.
        for child in reversed(self.children):
            child.stop()
        if self.redis is not None:
            self.redis.stop()
        if self.postgres is not None:
            self.postgres.stop()
        runtime_state.clear(self.settings.home)
        self.say("Plinth stopped.")
