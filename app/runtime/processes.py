"""Supervised child processes: each runs in its own session (so one signal reaches it and its pool
children), logs to a file, is restarted with backoff if it dies, and is stopped gracefully then killed."""

from __future__ import annotations

import contextlib
import os
import signal
import subprocess
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path

import httpx

MAX_RESTARTS_PER_MINUTE = 5


@dataclass
class ManagedProcess:
    name: str
    command: list[str]
    env: dict[str, str]
    log_file: Path
    stop_timeout_s: float = 30.0
    process: subprocess.Popen[bytes] | None = field(default=None, init=False)
    restarts: list[float] = field(default_factory=list, init=False)

    def start(self) -> None:
        self.log_file.parent.mkdir(parents=True, exist_ok=True)
        with self.log_file.open("ab") as log:
            self.process = subprocess.Popen(
                self.command, env=self.env, stdout=log, stderr=subprocess.STDOUT, start_new_session=True
            )

    @property
    def pid(self) -> int | None:
        return self.process.pid if self.process else None

    def exited(self) -> int | None:
        """The exit code if the process has ended, else None."""
        return None if self.process is None else self.process.poll()

    def restart_allowed(self) -> bool:
        now = time.monotonic()
        self.restarts = [t for t in self.restarts if now - t < 60]
        if len(self.restarts) >= MAX_RESTARTS_PER_MINUTE:
            return False
        self.restarts.append(now)
        return True

    def _signal_group(self, sig: signal.Signals) -> None:
        if self.process is None:
            return
        with contextlib.suppress(ProcessLookupError, PermissionError):
            os.killpg(self.process.pid, sig)

    def stop(self) -> None:
        if self.process is None:
            return
        if self.process.poll() is None:
            self._signal_group(signal.SIGTERM)
            try:
                self.process.wait(timeout=self.stop_timeout_s)
            except subprocess.TimeoutExpired:
                self._signal_group(signal.SIGKILL)
                self.process.wait()
        # Pool children of a stopped leader must not outlive it.
        self._signal_group(signal.SIGKILL)


def wait_until_ok(
    url: str, *, timeout_s: float, interval_s: float = 0.5, alive: Callable[[], bool] = lambda: True
) -> bool:
    """Poll GET `url` until it answers 200 (True), or `alive()` turns false or `timeout_s` passes (False).
    `alive` runs before each attempt and may raise."""
    deadline = time.monotonic() + timeout_s
    while alive():
        try:
            if httpx.get(url, timeout=5).status_code == 200:
                return True
        except httpx.HTTPError:
            pass
        if time.monotonic() > deadline:
            return False
        time.sleep(interval_s)
    return False
