"""`plinth bench load`: a sustained, open-loop rate of questions through a front end for a while, at
each of several rates, on a scratch system started for the run (embedded PostgreSQL, bundled Redis, a
Celery worker, beat and the API as real processes) answering through a stub of the OpenAI-compatible
API. Reports throughput, latency percentiles, error rate, busy notices and the share of questions
answered, queue depth over time, and the rate at which latency degrades.

How a question reaches Plinth and what its latency is depends on the driver (a Protocol):
- `slack` (the default, `app/bench/load_slack.py`): signed `app_mention` event callbacks POSTed to
  `/slack/events`; latency = from just before the POST to the fake Slack Web API receiving the message
  that carries the answer (the placeholder's `chat.update`, or a `chat.postMessage` in the thread);
- `api`: `POST /api/v1/ask` (`wait: false`); latency = the submit round trip + the server's time from
  receipt to the stored answer (the answer reports it), so polling for results afterwards adds nothing.

Before the first rate a few questions are asked and answered (the worker loads its embedding model,
Slack channels are seen for the first time); they are not counted."""

from __future__ import annotations

import asyncio
import os
import time
from collections.abc import Mapping, Sequence
from contextlib import ExitStack, suppress
from dataclasses import dataclass, field
from pathlib import Path
from typing import Protocol

import httpx
from prometheus_client.parser import text_string_to_metric_families

from app.bench.load_system import scratch_system
from app.bench.report import emit, machine, percentile
from app.core.settings.sections import QueueSettings

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
DRIVERS = ("slack", "api")


class Driver(Protocol):
    """How a question reaches Plinth and how its delivery is observed, for one front end."""

    variant: str
    front_end: str

    async def ask(self, http: httpx.AsyncClient, n: int, question: str) -> tuple[str, bool]:
        """Submit question number n; returns an id to follow it by and whether Plinth already said it
        is busy (a front end that says so later reports it through `delivered`)."""
        ...

    async def delivered(self, http: httpx.AsyncClient, sample: Sample) -> Delivered | None:
        """The question's latency (and busy notice) once its answer is delivered, else None."""
        ...


@dataclass
class Delivered:
    latency_ms: float
    busy: bool | None = None  # None: as the submit said


@dataclass
class ApiDriver:
    base_url: str
    token: str
    variant: str = "plinth"
    front_end: str = "api"

    def _headers(self) -> dict[str, str]:
        return {"Authorization": f"Bearer {self.token}"}

    async def ask(self, http: httpx.AsyncClient, n: int, question: str) -> tuple[str, bool]:
        response = await http.post(
            f"{self.base_url}/api/v1/ask", json={"question": question, "wait": False}, headers=self._headers()
        )
        response.raise_for_status()
        body = response.json()
        return str(body["message_id"]), bool(body.get("notice"))

    async def delivered(self, http: httpx.AsyncClient, sample: Sample) -> Delivered | None:
        response = await http.get(
            f"{self.base_url}/api/v1/messages/{sample.message_id}/answer", headers=self._headers()
        )
        response.raise_for_status()
        if response.status_code != 200:
            return None
        return Delivered(latency_ms=sample.rtt_ms + float(response.json()["latency_ms"]))


@dataclass
class Sample:
    submitted_at: float  # seconds since the step started
    rtt_ms: float = 0.0  # the submit round trip (for Slack: the ack)
    message_id: str | None = None
    busy: bool = False
    error: str | None = None
    latency_ms: float | None = None  # None until answered


@dataclass
class Step:
    rate: float
    duration_s: float
    samples: list[Sample] = field(default_factory=list)
    depths: list[tuple[float, int]] = field(default_factory=list)  # (seconds since start, answers queue)
    load_avg: tuple[float, float] = (0.0, 0.0)  # the machine's 1-minute load average at start and end

    def latencies(self) -> list[float]:
        return [s.latency_ms for s in self.samples if s.latency_ms is not None]

    def answered_ratio(self) -> float:
        return len(self.latencies()) / len(self.samples) if self.samples else 0.0

    def error_rate(self) -> float:
        failed = sum(1 for s in self.samples if s.error is not None or s.latency_ms is None)
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


async def _await_answers(
    driver: Driver, http: httpx.AsyncClient, samples: Sequence[Sample], *, within_s: float
) -> None:
    """Poll until every submitted sample is answered or `within_s` has passed."""
    deadline = time.monotonic() + within_s

    async def check(sample: Sample) -> None:
        with suppress(httpx.HTTPError):
            outcome = await driver.delivered(http, sample)
            if outcome is not None:
                sample.latency_ms = outcome.latency_ms
                if outcome.busy is not None:
                    sample.busy = outcome.busy

    pending = [s for s in samples if s.message_id is not None]
    while pending and time.monotonic() < deadline:
        for n in range(0, len(pending), 50):
            await asyncio.gather(*(check(sample) for sample in pending[n : n + 50]))
        pending = [s for s in pending if s.latency_ms is None]
        if pending:
            await asyncio.sleep(0.5)


async def run_step(driver: Driver, base_url: str, *, rate: float, duration_s: float, drain_s: float) -> Step:
    """Offer `rate` questions per second for `duration_s` (open loop: a slow answer does not slow the
    offer), then wait up to `drain_s` for the last answers."""
    step = Step(rate=rate, duration_s=duration_s)
    load_before = os.getloadavg()[0]
    limits = httpx.Limits(max_connections=200, max_keepalive_connections=50)
    async with httpx.AsyncClient(timeout=30, limits=limits) as http:
        started = time.monotonic()

        async def submit(n: int) -> None:
            sample = Sample(submitted_at=time.monotonic() - started)
            step.samples.append(sample)
            t0 = time.perf_counter()
            try:
                sample.message_id, sample.busy = await driver.ask(http, n, QUESTIONS[n % len(QUESTIONS)])
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
        await _await_answers(driver, http, step.samples, within_s=drain_s)
        stop.set()
        await sampler
    step.load_avg = (load_before, os.getloadavg()[0])
    return step


async def warm_up(driver: Driver, *, questions: int, within_s: float = 300.0) -> None:
    """Ask a few questions one after another and wait for their answers: the first answers of a cold
    worker wait for its embedding model, the first question from a Slack channel syncs its members."""
    async with httpx.AsyncClient(timeout=30) as http:
        for n in range(questions):
            sample = Sample(submitted_at=0.0)
            sample.message_id, _ = await driver.ask(http, n, QUESTIONS[n % len(QUESTIONS)])
            await _await_answers(driver, http, [sample], within_s=within_s)
            if sample.latency_ms is None:
                raise RuntimeError(f"a warm-up question was not answered within {within_s:.0f} s")


def _degraded(step: Step, baseline_p95: float | None) -> bool:
    """Whether this step is past the knee; the lowest rate (no baseline yet) is judged by throughput and
    errors alone, so a first rate already beyond capacity is reported as such."""
    if step.throughput_per_s() < MIN_THROUGHPUT_SHARE * step.rate or step.error_rate() > MAX_ERROR_RATE:
        return True
    latencies = step.latencies()
    p95 = percentile(latencies, 95) if latencies else float("inf")
    return baseline_p95 is not None and p95 > DEGRADED_P95_FACTOR * baseline_p95


def report_step(step: Step, *, variant: str, context: Mapping[str, object]) -> None:
    """One rate's figures, one JSON line each."""
    latencies = step.latencies()
    common = {
        "rate_per_s": step.rate,
        "duration_s": step.duration_s,
        "questions": len(step.samples),
        "load_avg_1m": [round(v, 2) for v in step.load_avg],
        **context,
    }

    def line(metric: str, value: float, unit: str, **extra: object) -> None:
        emit(bench=BENCH, variant=variant, metric=metric, value=value, unit=unit, **common, **extra)

    line("throughput_per_s", step.throughput_per_s(), "1/s")
    for q in (50, 95, 99):
        line(f"latency_p{q}_ms", percentile(latencies, q) if latencies else 0.0, "ms")
    line("error_rate", step.error_rate(), "ratio")
    line("answered_ratio", step.answered_ratio(), "ratio", answered=len(latencies))
    submits = [s.rtt_ms for s in step.samples if s.error is None]
    # Slack retries an event whose ack took longer than 3 s.
    over = sum(1 for ms in submits if ms > 3000)
    line("submit_p95_ms", percentile(submits, 95) if submits else 0.0, "ms", over_3s=over)
    busy = [s for s in step.samples if s.busy]
    line("busy_notices", len(busy), "count", busy_answered=sum(s.latency_ms is not None for s in busy))
    line(
        "max_queue_depth",
        max((d for _, d in step.depths), default=0),
        "tasks",
        queue_depth_series=[[round(t, 1), d] for t, d in step.depths],
        busy_notices=len(busy),
    )


def report_knee(steps: Sequence[Step], *, variant: str, context: Mapping[str, object]) -> None:
    """The final line: the lowest rate at which latency degraded (`degrades_at_rate`, null when it held
    at every rate tried; the value is then the highest rate tried, a lower bound)."""
    baseline_p95: float | None = None
    degradation: float | None = None
    for step in steps:
        latencies = step.latencies()
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
        degrades_at_rate=degradation,
        degraded_within_tested=degradation is not None,
        rates_per_s=[s.rate for s in steps],
        **context,
    )


def report(steps: Sequence[Step], *, variant: str, context: Mapping[str, object]) -> None:
    for step in steps:
        report_step(step, variant=variant, context=context)
    report_knee(steps, variant=variant, context=context)


async def _run_steps(
    driver: Driver,
    base_url: str,
    *,
    rates: Sequence[float],
    duration_s: float,
    drain_s: float,
    warm_up_questions: int,
    context: Mapping[str, object],
) -> None:
    await warm_up(driver, questions=warm_up_questions)
    steps = []
    for rate in sorted(rates):  # each rate's lines as soon as it is done: a long run keeps what it has
        steps.append(await run_step(driver, base_url, rate=rate, duration_s=duration_s, drain_s=drain_s))
        report_step(steps[-1], variant=driver.variant, context=context)
    report_knee(steps, variant=driver.variant, context=context)


def run(
    *,
    rates: Sequence[float] = (0.5, 1.0, 2.0, 4.0),
    duration_s: float = 300.0,
    docs: Path = DEFAULT_DOCS,
    llm_url: str | None = None,
    concurrency: int = 16,
    driver: str = "slack",
    busy_depth: int | None = None,
    drain_s: float | None = None,
) -> None:
    """`busy_depth` None keeps the setting's default (`PLINTH_QUEUE_BUSY_DEPTH`); `drain_s` None waits
    up to max(120 s, `duration_s`) after each rate for its last answers."""
    if driver not in DRIVERS:
        raise ValueError(f"unknown driver {driver!r}: one of {', '.join(DRIVERS)}")
    with ExitStack() as stack:
        settings: dict[str, str] = {}
        slack = None
        if driver == "slack":
            from app.bench.load_slack import fake_slack

            slack = stack.enter_context(fake_slack())
            settings = slack.settings()
        system = stack.enter_context(
            scratch_system(
                docs=docs, llm_url=llm_url, concurrency=concurrency, busy_depth=busy_depth, settings=settings
            )
        )
        chosen: Driver = (
            slack.driver(system.base_url)
            if slack
            else ApiDriver(base_url=system.base_url, token=system.token)
        )
        context = {
            "front_end": chosen.front_end,
            "worker_concurrency": concurrency,
            "llm": llm_url or "stub",
            "busy_depth": busy_depth if busy_depth is not None else QueueSettings().busy_depth,
            **machine(),
        }
        asyncio.run(
            _run_steps(
                chosen,
                system.base_url,
                rates=rates,
                duration_s=duration_s,
                drain_s=drain_s if drain_s is not None else max(120.0, duration_s),
                # Slack: every user and channel seen once (the first sight of each is not steady state).
                warm_up_questions=max(len(slack.users), len(slack.channels)) if slack else 2,
                context=context,
            )
        )
