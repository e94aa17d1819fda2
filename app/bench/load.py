"""`plinth bench load`: a sustained, open-loop rate of questions through a front end for a while, at
each of several rates, on a scratch system started for the run (embedded PostgreSQL, bundled Redis, a
Celery worker, beat and the API as real processes) answering through a stub of the OpenAI-compatible
API. Reports throughput, latency percentiles, error rate, queue depth over time, and the rate at which
latency degrades.

Latency of a question = the front end's submit round trip + the server's time from receipt to the
stored answer (the answer reports it), so polling for results afterwards adds nothing to it. The driver
is a Protocol: the HTTP API one is here; a Slack-signed one plugs in the same way."""

from __future__ import annotations

import asyncio
import os
import secrets
import shutil
import sys
import tempfile
import time
from collections.abc import Iterator, Sequence
from contextlib import contextmanager, suppress
from dataclasses import dataclass, field
from pathlib import Path
from typing import Protocol

import httpx
from prometheus_client.parser import text_string_to_metric_families

from app.bench.report import emit, machine, percentile
from app.runtime import migrate
from app.runtime.postgres import EmbeddedPostgres, free_port
from app.runtime.processes import ManagedProcess
from app.runtime.redis_server import BundledRedis

BENCH = "load"
REPO = Path(__file__).resolve().parents[2]
DEFAULT_DOCS = REPO.parent / "shared" / "data" / "qa" / "handbook-18F" / "pages" / "travel-and-leave"
QUESTIONS = (
    "How many hours of annual leave do I earn per pay period?",
    "How do I request leave?",
    "Can I carry over unused annual leave to next year?",
    "What is the policy on sick leave?",
    "Who approves my travel?",
    "How do I book a flight for work travel?",
)
# Latency has degraded at a rate when its p95 is this many times the p95 at the lowest rate, when the
# system answers less than this share of what it is offered, or when more than 1 % of questions fail.
DEGRADED_P95_FACTOR = 2.0
MIN_THROUGHPUT_SHARE = 0.9
MAX_ERROR_RATE = 0.01


class Driver(Protocol):
    """How a question reaches Plinth and how its answer is fetched, for one front end."""

    variant: str

    async def ask(self, http: httpx.AsyncClient, question: str) -> tuple[str, bool]:
        """Submit a question; returns its message id and whether Plinth said it is busy."""
        ...

    async def latency_ms(self, http: httpx.AsyncClient, message_id: str) -> float | None:
        """The server's receipt-to-answer time once answered, else None."""
        ...


@dataclass
class ApiDriver:
    base_url: str
    token: str
    variant: str = "plinth"

    def _headers(self) -> dict[str, str]:
        return {"Authorization": f"Bearer {self.token}"}

    async def ask(self, http: httpx.AsyncClient, question: str) -> tuple[str, bool]:
        response = await http.post(
            f"{self.base_url}/api/v1/ask", json={"question": question, "wait": False}, headers=self._headers()
        )
        response.raise_for_status()
        body = response.json()
        return str(body["message_id"]), bool(body.get("notice"))

    async def latency_ms(self, http: httpx.AsyncClient, message_id: str) -> float | None:
        response = await http.get(
            f"{self.base_url}/api/v1/messages/{message_id}/answer", headers=self._headers()
        )
        response.raise_for_status()
        return float(response.json()["latency_ms"]) if response.status_code == 200 else None


@dataclass
class Sample:
    submitted_at: float  # seconds since the step started
    rtt_ms: float = 0.0
    message_id: str | None = None
    busy: bool = False
    error: str | None = None
    server_ms: float | None = None

    @property
    def latency_ms(self) -> float | None:
        return None if self.server_ms is None else self.rtt_ms + self.server_ms


@dataclass
class Step:
    rate: float
    duration_s: float
    samples: list[Sample] = field(default_factory=list)
    depths: list[tuple[float, int]] = field(default_factory=list)  # (seconds since start, answers queue)

    def latencies(self) -> list[float]:
        return [s.latency_ms for s in self.samples if s.latency_ms is not None]

    def error_rate(self) -> float:
        failed = sum(1 for s in self.samples if s.error is not None or s.server_ms is None)
        return failed / len(self.samples) if self.samples else 0.0

    def throughput_per_s(self) -> float:
        done = [s.submitted_at + (s.latency_ms or 0) / 1000 for s in self.samples if s.latency_ms is not None]
        if not done:
            return 0.0
        return len(done) / max(max(done) - min(s.submitted_at for s in self.samples), 1e-9)


async def queue_depth(http: httpx.AsyncClient, base_url: str) -> int:
    text = (await http.get(f"{base_url}/metrics")).text
    for family in text_string_to_metric_families(text):
        if family.name == "plinth_queue_depth":
            return int(sum(s.value for s in family.samples if s.labels.get("queue") == "answers"))
    return 0


async def run_step(driver: Driver, base_url: str, *, rate: float, duration_s: float, drain_s: float) -> Step:
    """Offer `rate` questions per second for `duration_s` (open loop: a slow answer does not slow the
    offer), then wait up to `drain_s` for the last answers."""
    step = Step(rate=rate, duration_s=duration_s)
    limits = httpx.Limits(max_connections=200, max_keepalive_connections=50)
    async with httpx.AsyncClient(timeout=30, limits=limits) as http:
        started = time.monotonic()

        async def submit(n: int) -> None:
            sample = Sample(submitted_at=time.monotonic() - started)
            step.samples.append(sample)
            t0 = time.perf_counter()
            try:
                sample.message_id, sample.busy = await driver.ask(http, QUESTIONS[n % len(QUESTIONS)])
            except httpx.HTTPError as exc:
                sample.error = f"{type(exc).__name__}: {exc}"
            sample.rtt_ms = (time.perf_counter() - t0) * 1000

        async def sample_depth(stop: asyncio.Event) -> None:
            while not stop.is_set():
                with suppress(httpx.HTTPError):
                    step.depths.append((time.monotonic() - started, await queue_depth(http, base_url)))
                await asyncio.sleep(1.0)

        stop = asyncio.Event()
        sampler = asyncio.create_task(sample_depth(stop))
        submits = []
        for n in range(max(1, round(rate * duration_s))):
            await asyncio.sleep(max(0.0, started + n / rate - time.monotonic()))
            submits.append(asyncio.create_task(submit(n)))
        await asyncio.gather(*submits)
        deadline = time.monotonic() + drain_s
        pending = [s for s in step.samples if s.message_id is not None]
        while pending and time.monotonic() < deadline:
            for sample in pending[:50]:
                try:
                    sample.server_ms = await driver.latency_ms(http, sample.message_id or "")
                except httpx.HTTPError:
                    continue
            pending = [s for s in pending if s.server_ms is None]
            if pending:
                await asyncio.sleep(0.5)
        stop.set()
        await sampler
    return step


@dataclass
class System:
    base_url: str
    token: str


@contextmanager
def scratch_system(*, docs: Path, llm_url: str | None, concurrency: int) -> Iterator[System]:
    """Everything `plinth up` runs, on scratch servers removed afterwards."""
    root = Path(tempfile.mkdtemp(prefix="plinth-bench-load-"))
    stub = None
    if llm_url is None:
        # The stub is part of the repository's tests, not of the installed package: a checkout has it.
        if (REPO / "tests" / "fakes").is_dir() and str(REPO) not in sys.path:
            sys.path.append(str(REPO))
        try:
            from tests.fakes.openai_server import StubServer
        except ImportError as exc:
            raise SystemExit(
                "the stub LLM ships with the repository's tests; pass --llm-url instead"
            ) from exc
        stub = StubServer().start()
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
            "PLINTH_WORKER_CONCURRENCY": str(concurrency),
            "PLINTH_API_TOKEN": token,
        }
        plinth = [sys.executable, "-m", "app.cli"]
        ingest = ManagedProcess("ingest", [*plinth, "ingest", str(docs)], env, root / "ingest.log")
        ingest.start()
        if ingest.process is None or ingest.process.wait(timeout=900) != 0:
            raise RuntimeError(f"ingesting {docs} failed; see {root / 'ingest.log'}")
        for name, command in (
            ("worker", [*plinth, "worker"]),
            ("beat", [*plinth, "beat"]),
            ("api", [*plinth, "api", "--port", str(port)]),
        ):
            processes.append(ManagedProcess(name, command, env, root / f"{name}.log", stop_timeout_s=60))
            processes[-1].start()
        base_url = f"http://127.0.0.1:{port}"
        deadline = time.monotonic() + 180
        while True:
            try:
                if httpx.get(f"{base_url}/readyz", timeout=5).status_code == 200:
                    break
            except httpx.HTTPError:
                pass
            if time.monotonic() > deadline:
                raise RuntimeError(f"the scratch system did not become ready; see {root}")
            time.sleep(0.5)
        yield System(base_url=base_url, token=token)
    finally:
        for process in reversed(processes):
            process.stop()
        redis_server.stop()
        postgres.stop()
        if stub is not None:
            stub.stop()
        shutil.rmtree(root, ignore_errors=True)


def _degraded(step: Step, baseline_p95: float | None) -> bool:
    """Whether this step is past the knee; the lowest rate (no baseline yet) is judged by throughput and
    errors alone, so a first rate already beyond capacity is reported as such."""
    if step.throughput_per_s() < MIN_THROUGHPUT_SHARE * step.rate or step.error_rate() > MAX_ERROR_RATE:
        return True
    latencies = step.latencies()
    p95 = percentile(latencies, 95) if latencies else float("inf")
    return baseline_p95 is not None and p95 > DEGRADED_P95_FACTOR * baseline_p95


def report(steps: Sequence[Step], *, variant: str, context: dict[str, object]) -> None:
    baseline_p95: float | None = None
    degradation: float | None = None
    for step in steps:
        latencies = step.latencies()
        common = {
            "rate_per_s": step.rate,
            "duration_s": step.duration_s,
            "questions": len(step.samples),
            **context,
        }
        emit(
            bench=BENCH,
            variant=variant,
            metric="throughput_per_s",
            value=step.throughput_per_s(),
            unit="1/s",
            **common,
        )
        for q in (50, 95, 99):
            value = percentile(latencies, q) if latencies else 0.0
            emit(bench=BENCH, variant=variant, metric=f"latency_p{q}_ms", value=value, unit="ms", **common)
        emit(
            bench=BENCH, variant=variant, metric="error_rate", value=step.error_rate(), unit="ratio", **common
        )
        emit(
            bench=BENCH,
            variant=variant,
            metric="max_queue_depth",
            value=max((d for _, d in step.depths), default=0),
            unit="tasks",
            queue_depth_series=[[round(t, 1), d] for t, d in step.depths],
            busy_notices=sum(s.busy for s in step.samples),
            **common,
        )
        if degradation is None and _degraded(step, baseline_p95):
            degradation = step.rate
        if baseline_p95 is None and latencies:
            baseline_p95 = percentile(latencies, 95)
    emit(
        bench=BENCH,
        variant=variant,
        metric="degradation_rate_per_s",
        value=degradation if degradation is not None else max(s.rate for s in steps),
        unit="1/s",
        # False: latency held up to the highest rate tried; the value is that rate, a lower bound.
        degraded_within_tested=degradation is not None,
        rates_per_s=[s.rate for s in steps],
        **context,
    )


def run(
    *,
    rates: Sequence[float] = (0.5, 1.0, 2.0, 4.0),
    duration_s: float = 300.0,
    docs: Path = DEFAULT_DOCS,
    llm_url: str | None = None,
    concurrency: int = 2,
) -> None:
    with scratch_system(docs=docs, llm_url=llm_url, concurrency=concurrency) as system:
        driver = ApiDriver(base_url=system.base_url, token=system.token)
        steps = []
        for rate in sorted(rates):
            steps.append(
                asyncio.run(
                    run_step(
                        driver,
                        system.base_url,
                        rate=rate,
                        duration_s=duration_s,
                        drain_s=max(120.0, duration_s),
                    )
                )
            )
    context = {"front_end": "api", "worker_concurrency": concurrency, "llm": llm_url or "stub", **machine()}
    report(steps, variant=driver.variant, context=context)
