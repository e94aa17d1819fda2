"""`plinth bench email`: the email front end on a scratch system (embedded PostgreSQL, bundled Redis,
a real worker process, the listener and the sink in this process). Questions are answered without a
language model (extractive), so the figures are the front end's and the queue's, not a model's.

Figures: messages/s accepted by the listener (stored, recorded and queued before `250`), beside a
baseline aiosmtpd server that discards what it gets; messages/s processed end to end (answer in the
sink); p99 handling time of one SMTP transaction by message size (up to 25 MB); peak RSS."""

from __future__ import annotations

import os
import shutil
import smtplib
import sys
import tempfile
import threading
import time
import uuid
from collections.abc import Iterator
from concurrent.futures import ThreadPoolExecutor
from contextlib import contextmanager
from email.message import EmailMessage
from pathlib import Path

import psutil
from aiosmtpd.controller import Controller
from sqlalchemy import func, select

from app.bench.report import emit, machine, percentile
from app.core.db import dispose_engines, session_scope
from app.core.settings import get_settings, reset_settings_cache
from app.domains.inbox.models import InboundMail
from app.domains.principals import service as principals
from app.runtime import migrate
from app.runtime.postgres import EmbeddedPostgres
from app.runtime.processes import ManagedProcess
from app.runtime.redis_server import BundledRedis
from integrations.email import sink
from integrations.email.listener import Listener

BENCH = "email"
SENDER = "bench@example.com"


def _free_port() -> int:
    import socket

    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return int(probe.getsockname()[1])


class _Discard:
    async def handle_DATA(self, server: object, session: object, envelope: object) -> str:  # noqa: N802
        return "250 OK"


def _message(number: int, size: int) -> bytes:
    mail = EmailMessage()
    mail["From"] = SENDER
    mail["To"] = "ask@plinth.local"
    mail["Subject"] = f"question {number}"
    mail["Message-ID"] = f"<bench.{uuid.uuid4()}@example.com>"
    mail.set_content(f"How many days of leave do I get? ({number})")
    if size > 4096:
        mail.add_attachment(
            os.urandom(size), maintype="application", subtype="octet-stream", filename="blob.bin"
        )
    return bytes(mail).replace(b"\r\n", b"\n").replace(b"\n", b"\r\n")


def _send(port: int, raw: bytes) -> float:
    started = time.perf_counter()
    with smtplib.SMTP("127.0.0.1", port, timeout=120) as smtp:
        smtp.sendmail(SENDER, ["ask@plinth.local"], raw)
    return time.perf_counter() - started


def _send_all(port: int, messages: list[bytes], concurrency: int) -> tuple[float, list[float]]:
    started = time.perf_counter()
    with ThreadPoolExecutor(concurrency) as pool:
        latencies = list(pool.map(lambda raw: _send(port, raw), messages))
    return time.perf_counter() - started, latencies


@contextmanager
def _system(root: Path) -> Iterator[tuple[int, Path, list[ManagedProcess]]]:
    postgres = EmbeddedPostgres(root=root / "pg", shared_buffers="256MB")
    redis = BundledRedis(root=root / "redis")
    postgres.start()
    redis.start()
    listen_port, sink_port = _free_port(), _free_port()
    env = {
        "PLINTH_HOME": str(root / "home"),
        "PLINTH_DATABASE_URL": postgres.url(),
        "PLINTH_REDIS_URL": redis.url,
        "PLINTH_EMAIL_LISTEN_PORT": str(listen_port),
        "PLINTH_EMAIL_RELAY_PORT": str(sink_port),
        "PLINTH_EMAIL_MESSAGES_PER_SENDER_PER_HOUR": "1000000",
    }
    saved = dict(os.environ)
    os.environ.update(env)
    reset_settings_cache()
    dispose_engines()
    worker = ManagedProcess(
        "worker",
        [sys.executable, "-m", "app.cli", "worker"],
        dict(os.environ),
        root / "worker.log",
        stop_timeout_s=60,
    )
    sink_server: Controller | None = None
    listener: Listener | None = None
    try:
        migrate.upgrade(postgres.url())
        with session_scope() as session:
            principals.ensure_local(session, handle=SENDER)
        settings = get_settings()
        sink_server = sink.controller(settings, port=sink_port)
        sink_server.start()
        worker.start()
        listener = Listener(settings.email)
        listener.start()
        yield listen_port, sink.sink_dir(settings), [worker]
    finally:
        if listener is not None:
            listener.stop()
        worker.stop()
        if sink_server is not None:
            sink_server.stop()
        os.environ.clear()
        os.environ.update(saved)
        reset_settings_cache()
        dispose_engines()
        redis.stop()
        postgres.stop()


def _wait_processed(sink_dir: Path, expected: int, timeout_s: float) -> float:
    started = time.perf_counter()
    while time.perf_counter() - started < timeout_s:
        if len(os.listdir(sink_dir / "new")) >= expected:
            return time.perf_counter()
        time.sleep(0.05)
    raise TimeoutError(f"only {len(os.listdir(sink_dir / 'new'))} of {expected} replies after {timeout_s} s")


class _PeakRss:
    """The peak resident memory of this process and its children, polled."""

    def __init__(self, processes: list[ManagedProcess]) -> None:
        self.processes, self.peak, self._stop = processes, 0, threading.Event()
        self._thread = threading.Thread(target=self._run, daemon=True)

    def _run(self) -> None:
        while not self._stop.wait(0.1):
            rss = psutil.Process().memory_info().rss
            for child in self.processes:
                if child.pid is None:
                    continue
                try:
                    tree = psutil.Process(child.pid)
                    rss += sum(p.memory_info().rss for p in [tree, *tree.children(recursive=True)])
                except psutil.Error:
                    continue
            self.peak = max(self.peak, rss)

    def __enter__(self) -> _PeakRss:
        self._thread.start()
        return self

    def __exit__(self, *_: object) -> None:
        self._stop.set()
        self._thread.join()


def _handling(port: int, batch: list[bytes], variant: str) -> None:
    """p99 of one SMTP transaction (connect to `250`), one message at a time."""
    _, latencies = _send_all(port, batch, 1)
    emit(
        bench=BENCH,
        variant=variant,
        metric="handling_p99_ms",
        value=percentile([s * 1000 for s in latencies], 99),
        unit="ms",
        message_kb=round(max(len(m) for m in batch) / 1024),
        samples=len(batch),
        **machine(),
    )


def run(
    *, messages: int = 200, concurrency: int = 4, sizes_kb: tuple[int, ...] = (4, 1024, 24 * 1024)
) -> None:
    context = {**machine(), "messages": messages, "concurrency": concurrency}
    root = Path(tempfile.mkdtemp(prefix="plinth-bench-email-"))
    try:
        small = [_message(i, 0) for i in range(messages)]
        sized = {
            kb: [_message(10_000 + i, int(kb * 1024 * 0.73)) for i in range(20 if kb < 5000 else 5)]
            for kb in sizes_kb
        }
        baseline_port = _free_port()
        baseline = Controller(_Discard(), hostname="127.0.0.1", port=baseline_port, data_size_limit=2**25)
        baseline.start()
        try:
            elapsed, _ = _send_all(baseline_port, small, concurrency)
            emit(
                bench=BENCH,
                variant="baseline-aiosmtpd-discard",
                metric="accepted_per_s",
                value=messages / elapsed,
                unit="1/s",
                **context,
            )
            for batch in sized.values():
                _handling(baseline_port, batch, "baseline-aiosmtpd-discard")
        finally:
            baseline.stop()
        with _system(root) as (port, sink_dir, children), _PeakRss(children) as rss:
            started = time.perf_counter()
            elapsed, _ = _send_all(port, small, concurrency)
            emit(
                bench=BENCH,
                variant="plinth",
                metric="accepted_per_s",
                value=messages / elapsed,
                unit="1/s",
                **context,
            )
            done = _wait_processed(sink_dir, messages, timeout_s=max(600.0, messages * 2.0))
            emit(
                bench=BENCH,
                variant="plinth",
                metric="processed_per_s",
                value=messages / (done - started),
                unit="1/s",
                **context,
            )
            for batch in sized.values():
                _handling(port, batch, "plinth")
            with session_scope() as session:
                unsettled = session.scalar(
                    select(func.count()).select_from(InboundMail).where(InboundMail.status == "received")
                )
        emit(
            bench=BENCH,
            variant="plinth",
            metric="peak_rss_mb",
            value=rss.peak / 2**20,
            unit="MB",
            unsettled=unsettled,
            **context,
        )
    finally:
        shutil.rmtree(root, ignore_errors=True)
