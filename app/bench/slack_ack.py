"""`plinth bench slack-ack`: how fast Slack gets its acknowledgement, and how soon something is visible,
while the model stalls. Signed app_mention events are sent at a fixed concurrency to a real `plinth api`
(PostgreSQL, Redis, one worker whose model calls hang on a stub that never answers in time), a share of
them sent again as Slack retries (`X-Slack-Retry-Num`); the fake Slack Web API records when each
thread's first message arrived and how many were posted.

It runs from a source checkout: the fake Slack API and the stub model are the ones the tests use."""

from __future__ import annotations

import shutil
import sys
import tempfile
import time
from collections.abc import Iterator
from concurrent.futures import ThreadPoolExecutor
from contextlib import contextmanager
from pathlib import Path
from typing import Any

import psutil

from app.bench.report import emit, machine, percentile
from app.runtime import migrate
from app.runtime.postgres import EmbeddedPostgres, free_port
from app.runtime.processes import ManagedProcess
from app.runtime.redis_server import BundledRedis

BENCH = "slack-ack"
REPO = Path(__file__).resolve().parents[2]
DATA = REPO.parent / "shared" / "data"
WORKER_CONCURRENCY = 2
QUESTIONS = (
    "How do I request sick leave?",
    "How many hours of annual leave do I earn per pay period?",
    "Can I carry over annual leave into the next year?",
)


def checkout_support() -> Any:
    """The fakes and helpers the tests use (the fake Slack Web API, the stub model, signed Slack
    requests, process helpers), imported from the source checkout this runs from."""
    if str(REPO) not in sys.path:
        sys.path.insert(0, str(REPO))
    try:
        from tests.fakes import openai_server, slack_api
        from tests.support import processes
        from tests.support import slack as signed
    except ImportError as exc:  # pragma: no cover - only outside a source checkout
        raise SystemExit(f"plinth bench runs from a source checkout (tests/ not found: {exc})") from exc
    return openai_server, slack_api, signed, processes


def slack_settings(slack_url: str) -> dict[str, str]:
    """The settings that point Plinth's Slack front end at the fake Web API, with the tests' secrets."""
    _, _, signed, _ = checkout_support()
    return {
        "PLINTH_SLACK_SIGNING_SECRET": signed.SECRET,
        "PLINTH_SLACK_BOT_TOKEN": signed.BOT_TOKEN,
        "PLINTH_SLACK_API_BASE_URL": slack_url,
    }


def directory(fake: Any, *, users: int, channels: int) -> tuple[list[str], list[str]]:
    """Register users and channels (everyone, and the bot, in every channel) with the fake Slack."""
    _, slack_api, _, _ = checkout_support()
    people = [f"UB{n:07d}" for n in range(users)]
    rooms = [f"CB{n:07d}" for n in range(channels)]
    for user in people:
        fake.add_user(user, email=f"{user.lower()}@example.com")
    for room in rooms:
        fake.add_channel(room, members=[*people, slack_api.BOT_USER])
    return people, rooms


@contextmanager
def _system(root: Path, *, slack_url: str, llm_url: str) -> Iterator[tuple[str, psutil.Process]]:
    """The running system: the API's URL and its process (whose CPU time the benchmark reads)."""
    pg = EmbeddedPostgres(root=root / "pg", shared_buffers="256MB")
    redis = BundledRedis(root=root / "redis")
    running: list[ManagedProcess] = []
    _, _, signed, support = checkout_support()
    try:
        pg.start()
        redis.start()
        migrate.upgrade(pg.url())
        port = free_port()
        env = support.plinth_env(
            {
                "PLINTH_HOME": str(root / "home"),
                "PLINTH_DATABASE_URL": pg.url(),
                "PLINTH_REDIS_URL": redis.url,
                "PLINTH_LLM_BASE_URL": llm_url,
                "PLINTH_WORKER_CONCURRENCY": str(WORKER_CONCURRENCY),
                **slack_settings(slack_url),
            }
        )
        ingest = ManagedProcess(
            "ingest",
            [
                sys.executable,
                "-m",
                "app.cli",
                "ingest",
                str(DATA / "qa/handbook-18F/pages/travel-and-leave/leave.md"),
            ],
            env,
            root / "ingest.log",
        )
        ingest.start()
        assert ingest.process is not None
        if ingest.process.wait(timeout=300) != 0:
            raise RuntimeError(f"ingest failed: {(root / 'ingest.log').read_text()[-2000:]}")
        worker = ManagedProcess(
            "worker", [sys.executable, "-m", "app.cli", "worker"], env, root / "worker.log"
        )
        worker.start()
        running.append(worker)
        api = signed.start_api(env, root / "api.log", port=port)
        running.append(api)
        assert api.process is not None
        yield f"http://127.0.0.1:{port}", psutil.Process(api.process.pid)
    finally:
        for process in reversed(running):
            process.stop()
        redis.stop()
        pg.stop()


def _wait_for_stalled_workers(llm: Any, *, children: int, timeout_s: float = 300.0) -> None:
    """Until every worker child has loaded its models and hangs in a model call: before that, the
    children's start-up (the embedding model) competes with the API for the two cores."""
    deadline = time.monotonic() + timeout_s
    while len(llm.state.requests) < children:
        if time.monotonic() > deadline:
            reached = len(llm.state.requests)
            raise RuntimeError(f"only {reached} of {children} worker children reached the model")
        time.sleep(0.5)


def run(
    events: int = 500, concurrency: int = 50, retry_share: float = 0.1, channels: int = 10, users: int = 50
) -> None:
    openai_server, slack_api, signed, _ = checkout_support()
    fake = slack_api.FakeSlack().start()
    llm = openai_server.StubServer().start()
    llm.state.delay_s = 3600.0  # the model stalls for the whole run
    root = Path(tempfile.mkdtemp(prefix="plinth-bench-slack-"))
    payloads = signed.SlackPayloads(DATA)
    try:
        people, rooms = directory(fake, users=users, channels=channels)
        with _system(root, slack_url=fake.api_url, llm_url=llm.base_url) as (api_url, api):
            sender = signed.SlackSender(api_url)
            # First sight of a channel syncs its members inside the ack; that is not the steady state.
            for room in rooms:
                sender.event(payloads.mention(QUESTIONS[0], user=people[0], channel=room)).raise_for_status()
            _wait_for_stalled_workers(llm, children=WORKER_CONCURRENCY)
            fake.reset()
            bodies = [
                payloads.mention(
                    QUESTIONS[n % len(QUESTIONS)], user=people[n % users], channel=rooms[n % channels]
                )
                for n in range(events)
            ]
            retried = (
                {n for n in range(events) if n % max(1, round(1 / retry_share)) == 0}
                if retry_share
                else set()
            )
            sends: list[tuple[dict[str, Any], int | None]] = [(b, None) for b in bodies]
            sends += [(bodies[n], 1) for n in sorted(retried)]
            cpu_before = _cpu_seconds(api)
            figures = _send_all(sender, sends, concurrency)
            time.sleep(5.0)  # let placeholders (and anything duplicated) arrive
            api_cpu_ms = (_cpu_seconds(api) - cpu_before) * 1000 / len(sends)
            visible, duplicates = _visibility(fake, bodies, figures["sent_at"])
        statuses = figures["statuses"]
        context = {
            **machine(),
            "events": events,
            "retries": len(retried),
            "concurrency": concurrency,
            "channels": channels,
            "llm": "stalled",
            "non_2xx": sum(1 for s in statuses if not 200 <= s < 300),
        }
        context["not_visible"] = events - len(visible)
        figures_out = {
            "ack_p50_ms": (percentile(figures["acks_ms"], 50), "ms"),
            "ack_p99_ms": (percentile(figures["acks_ms"], 99), "ms"),
            "first_visible_p95_ms": (percentile(visible, 95), "ms"),
            "duplicate_replies": (float(duplicates), "count"),
            # What each request costs the API process (acknowledgement and placeholder): CPU time
            # does not depend on what else the machine runs, latency does.
            "api_cpu_ms_per_request": (api_cpu_ms, "ms"),
        }
        for metric, (value, unit) in figures_out.items():
            emit(bench=BENCH, variant="plinth", metric=metric, value=value, unit=unit, **context)
    finally:
        llm.stop()
        fake.stop()
        shutil.rmtree(root, ignore_errors=True)


def _cpu_seconds(process: psutil.Process) -> float:
    """CPU time of the process and its children (uvicorn with several workers runs them as children)."""
    total = 0.0
    for each in (process, *process.children(recursive=True)):
        times = each.cpu_times()
        total += times.user + times.system
    return total


def _send_all(
    sender: Any, sends: list[tuple[dict[str, Any], int | None]], concurrency: int
) -> dict[str, Any]:
    sent_at: dict[str, float] = {}

    def one(item: tuple[dict[str, Any], int | None]) -> tuple[float, int]:
        body, retry = item
        if retry is None:
            sent_at[body["event_id"]] = time.time()
        started = time.perf_counter()
        response = sender.event(body, retry_num=retry)
        return (time.perf_counter() - started) * 1000, response.status_code

    # Retries go out after the originals, as Slack sends them (a retry follows a slow or lost ack).
    originals = [s for s in sends if s[1] is None]
    again = [s for s in sends if s[1] is not None]
    with ThreadPoolExecutor(max_workers=concurrency) as pool:
        results = list(pool.map(one, originals)) + list(pool.map(one, again))
    return {"acks_ms": [r[0] for r in results], "statuses": [r[1] for r in results], "sent_at": sent_at}


def _visibility(
    fake: Any, bodies: list[dict[str, Any]], sent_at: dict[str, float]
) -> tuple[list[float], int]:
    """Per event: ms from sending to the first message in its thread; and how many threads got more than
    one message posted (a retry processed twice)."""
    first: dict[tuple[str, str], float] = {}
    posts: dict[tuple[str, str], int] = {}
    for call in fake.calls("chat.postMessage"):
        key = (str(call.args.get("channel")), str(call.args.get("thread_ts")))
        first[key] = min(first.get(key, call.at), call.at)
        posts[key] = posts.get(key, 0) + 1
    visible = []
    for body in bodies:
        key = (body["event"]["channel"], body["event"]["ts"])
        if key in first:
            visible.append((first[key] - sent_at[body["event_id"]]) * 1000)
    return visible, sum(1 for count in posts.values() if count > 1)
