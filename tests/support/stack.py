"""A running Plinth made of real processes (worker, beat, API) for fault tests: start them, signal
them, wait for what they should eventually do."""

from __future__ import annotations

import os
import signal
import sys
import time
import uuid
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path
from typing import TypeVar

import httpx
from celery import Celery
from sqlalchemy import func, select

from app.core.db import session_scope
from app.domains.conversations.models import Answer, Message
from app.runtime.postgres import free_port
from app.runtime.processes import ManagedProcess
from audit.models import AuditEvent, AuditIntake
from tests.support.processes import plinth_env

T = TypeVar("T")


def eventually(check: Callable[[], T | None], *, timeout_s: float, what: str, every_s: float = 0.25) -> T:
    """Poll until `check` returns something other than None/False (exceptions count as not yet)."""
    deadline = time.monotonic() + timeout_s
    last: BaseException | None = None
    while time.monotonic() < deadline:
        try:
            found = check()
            if found is not None and found is not False:
                return found
        except Exception as exc:  # a dependency that is still coming back
            last = exc
        time.sleep(every_s)
    raise AssertionError(f"{what} did not happen within {timeout_s:.0f} s (last error: {last!r})")


@dataclass
class Stack:
    env: dict[str, str]
    logs: Path
    redis_url: str
    processes: list[ManagedProcess] = field(default_factory=list)
    api_url: str | None = None

    def worker(self, *args: str, **extra: str) -> ManagedProcess:
        """`plinth worker ARGS` with extra settings, once it answers a ping."""
        name = f"worker-{len(self.processes)}"
        process = ManagedProcess(
            name,
            [sys.executable, "-m", "app.cli", "worker", *args],
            plinth_env({**self.env, **extra}),
            self.logs / f"{name}.log",
        )
        process.start()
        self.processes.append(process)
        probe = Celery(broker=self.redis_url)
        # A broker restarted by the previous test may drop the first connections: keep asking.
        eventually(
            lambda: process.exited() is None and bool(probe.control.ping(timeout=1.0, limit=1)),
            timeout_s=180,
            what=f"{name} answering a ping",
        )
        return process

    def beat(self) -> ManagedProcess:
        process = ManagedProcess(
            "beat", [sys.executable, "-m", "app.cli", "beat"], plinth_env(self.env), self.logs / "beat.log"
        )
        process.start()
        self.processes.append(process)
        return process

    def api(self) -> str:
        port = free_port()
        process = ManagedProcess(
            "api",
            [sys.executable, "-m", "app.cli", "api", "--port", str(port)],
            plinth_env(self.env),
            self.logs / "api.log",
        )
        process.start()
        self.processes.append(process)
        self.api_url = f"http://127.0.0.1:{port}"
        eventually(
            lambda: httpx.get(f"{self.api_url}/healthz", timeout=1).status_code == 200,
            timeout_s=60,
            what="the API coming up",
        )
        return self.api_url

    @staticmethod
    def signal(process: ManagedProcess, sig: signal.Signals, *, group: bool = False) -> None:
        assert process.pid is not None
        if group:
            os.killpg(process.pid, sig)
        else:
            os.kill(process.pid, sig)

    def stop(self) -> None:
        for process in reversed(self.processes):
            process.stop()


def answers_for(message_id: uuid.UUID) -> int:
    with session_scope() as session:
        return int(session.scalar(select(func.count()).where(Answer.message_id == message_id)) or 0)


def audit_events_for(message_id: uuid.UUID, event_type: str) -> int:
    """Audit events of a type in the message's correlation, chained or still in the intake."""
    with session_scope() as session:
        correlation = session.scalar(select(Message.correlation_id).where(Message.id == message_id))
        return sum(
            int(
                session.scalar(
                    select(func.count()).where(
                        table.event_type == event_type, table.correlation_id == correlation
                    )
                )
                or 0
            )
            for table in (AuditEvent, AuditIntake)
        )


def audit_events_about(subject: str) -> dict[str, int]:
    """How many audit events of each type name this subject, chained or still in the intake."""
    counts: dict[str, int] = {}
    with session_scope() as session:
        for table in (AuditEvent, AuditIntake):
            rows = session.execute(
                select(table.event_type, func.count())
                .where(table.subject == subject)
                .group_by(table.event_type)
            )
            for event_type, count in rows:
                counts[event_type] = counts.get(event_type, 0) + int(count)
    return counts
