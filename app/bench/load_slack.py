"""The Slack driver of `plinth bench load`: signed `app_mention` event callbacks, built from the real
payloads in ../shared/data/slack (the tests' `SlackPayloads`, each with a fresh event id and ts),
POSTed to `/slack/events` with a valid signature, round robin over a few users and channels; Plinth
replies to the fake Slack Web API the tests use, which records when each call arrived.

A question is answered when the fake receives the message carrying the answer (the one with the
answer's buttons) in the question's thread: the `chat.update` of its placeholder, or a
`chat.postMessage` in the thread when the answer beat the placeholder. Latency runs from just before
the POST to that arrival (both on this machine's clock). The placeholder's text tells whether Plinth
said it was busy. Like `slack-ack`, this runs from a source checkout (`checkout_support`)."""

from __future__ import annotations

import json
import time
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from typing import Any

import httpx

from app.bench.load import Delivered, Sample
from app.bench.slack_ack import DATA, checkout_support, directory, slack_settings
from app.core.settings.sections import QueueSettings

ANSWER_BLOCK = "plinth_answer_actions"  # the block id of the answer's buttons (integrations.slack.blocks)


@dataclass
class _Thread:
    placeholder_ts: str | None = None
    busy: bool = False
    answered_at: float | None = None  # time.time() when the fake received the answer


@dataclass
class SlackDriver:
    base_url: str
    fake: Any  # tests.fakes.slack_api.FakeSlack
    users: list[str]
    channels: list[str]
    busy_notice: str = field(default_factory=lambda: QueueSettings().busy_notice)
    variant: str = "plinth"
    front_end: str = "slack"
    _sent: dict[str, tuple[str, str, float]] = field(default_factory=dict)  # event id → channel, ts, at
    _threads: dict[tuple[str, str], _Thread] = field(default_factory=dict)  # (channel, thread ts)
    _placeholders: dict[tuple[str, str], _Thread] = field(default_factory=dict)  # (channel, message ts)
    _seen: int = 0  # calls of the fake already read

    def __post_init__(self) -> None:
        _, _, signed, _ = checkout_support()
        self._signed = signed
        self._payloads = signed.SlackPayloads(DATA)

    async def ask(self, http: httpx.AsyncClient, n: int, question: str) -> tuple[str, bool]:
        channel = self.channels[n % len(self.channels)]
        body = self._payloads.mention(question, user=self.users[n % len(self.users)], channel=channel)
        raw = json.dumps(body).encode()
        headers = self._signed.signed_headers(raw, content_type="application/json")
        sent_at = time.time()
        response = await http.post(f"{self.base_url}/slack/events", content=raw, headers=headers)
        response.raise_for_status()
        self._sent[body["event_id"]] = (channel, body["event"]["ts"], sent_at)
        return str(body["event_id"]), False  # a busy notice arrives after the ack, as the placeholder

    async def delivered(self, http: httpx.AsyncClient, sample: Sample) -> Delivered | None:
        self._read_calls()
        channel, ts, sent_at = self._sent[sample.message_id or ""]
        thread = self._threads.get((channel, ts))
        if thread is None or thread.answered_at is None:
            return None
        return Delivered(latency_ms=(thread.answered_at - sent_at) * 1000, busy=thread.busy)

    def _read_calls(self) -> None:
        with self.fake.state.lock:
            calls = self.fake.state.calls[self._seen :]
        self._seen += len(calls)
        for call in calls:
            if not call.result.get("ok") or call.method not in ("chat.postMessage", "chat.update"):
                continue
            channel = str(call.args.get("channel"))
            answer = ANSWER_BLOCK in str(call.args.get("blocks"))
            if call.method == "chat.update":
                thread = self._placeholders.get((channel, str(call.args.get("ts"))))
            elif call.args.get("thread_ts"):
                thread = self._threads.setdefault((channel, str(call.args["thread_ts"])), _Thread())
                if not answer:
                    thread.placeholder_ts = str(call.result.get("ts"))
                    thread.busy = call.args.get("text") == self.busy_notice
                    self._placeholders[(channel, thread.placeholder_ts)] = thread
            else:
                continue
            if thread is not None and answer and thread.answered_at is None:
                thread.answered_at = call.at


@dataclass
class FakeSlackFront:
    """The fake Slack Web API with a directory of users and channels, and the settings for Plinth."""

    fake: Any
    users: list[str]
    channels: list[str]

    def settings(self) -> dict[str, str]:
        return slack_settings(self.fake.api_url)

    def driver(self, base_url: str) -> SlackDriver:
        return SlackDriver(base_url=base_url, fake=self.fake, users=self.users, channels=self.channels)


@contextmanager
def fake_slack(*, users: int = 20, channels: int = 10) -> Iterator[FakeSlackFront]:
    _, slack_api, _, _ = checkout_support()
    fake = slack_api.FakeSlack().start()
    try:
        people, rooms = directory(fake, users=users, channels=channels)
        yield FakeSlackFront(fake=fake, users=people, channels=rooms)
    finally:
        fake.stop()
