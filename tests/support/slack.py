"""Signed Slack requests built from the real payloads in ../shared/data/slack, sent over HTTP to the
running API exactly as Slack sends them (JSON events, form-encoded interactivity and commands)."""

from __future__ import annotations

import contextlib
import copy
import hashlib
import hmac
import json
import sys
import time
import uuid
from collections.abc import Iterator, Mapping
from pathlib import Path
from typing import Any
from urllib.parse import parse_qsl, urlencode

import httpx
import pytest
from sqlalchemy import select

from app.core.db import session_scope
from app.domains.conversations.models import Message
from app.runtime.postgres import EmbeddedPostgres, free_port
from app.runtime.processes import ManagedProcess
from app.runtime.redis_server import BundledRedis
from tests.fakes.openai_server import StubServer
from tests.fakes.slack_api import Call, FakeSlack
from tests.support import databases
from tests.support.processes import plinth_env, private_redis_url, run_cli, start_worker

SECRET = "8f742231b10e8888abcd99yyyzzz85a5"  # test signing secret
BOT_TOKEN = "xoxb-test-plinth"
LEAVE = "qa/handbook-18F/pages/travel-and-leave/leave.md"
CLIENT_ID = "1111111111.2222222222"  # the OAuth app the fake Slack API knows
CLIENT_SECRET = "e0ad9a8a8b8a4f5c9f2c0d2f1b7a6c5d"


def signed_headers(
    body: bytes, *, secret: str = SECRET, timestamp: int | None = None, content_type: str
) -> dict[str, str]:
    ts = str(int(time.time()) if timestamp is None else timestamp)
    base = f"v0:{ts}:".encode() + body
    signature = "v0=" + hmac.new(secret.encode(), base, hashlib.sha256).hexdigest()
    return {"X-Slack-Request-Timestamp": ts, "X-Slack-Signature": signature, "Content-Type": content_type}


class SlackPayloads:
    """Real payloads with the fields a test cares about replaced."""

    def __init__(self, data: Path) -> None:
        self.root = data / "slack"

    def json(self, name: str) -> dict[str, Any]:
        return json.loads((self.root / name).read_text())

    def form_payload(self, name: str) -> dict[str, Any]:
        raw = (self.root / name).read_text().strip()
        fields = dict(parse_qsl(raw))
        return json.loads(fields["payload"])

    def form(self, name: str) -> dict[str, str]:
        return dict(parse_qsl((self.root / name).read_text().strip(), keep_blank_values=True))

    def mention(self, text: str, *, user: str, channel: str, thread_ts: str | None = None) -> dict[str, Any]:
        body = copy.deepcopy(self.json("squarebot/app_mention.json"))
        body["event_id"] = "Ev" + uuid.uuid4().hex[:10].upper()
        ts = f"{time.time():.6f}"
        body["event"].update(text=f"<@U0LAN0Z89> {text}", user=user, channel=channel, ts=ts, event_ts=ts)
        if thread_ts:
            body["event"]["thread_ts"] = thread_ts
        return body

    def message(
        self, text: str, *, user: str, channel: str, im: bool = True, thread_ts: str | None = None
    ) -> dict[str, Any]:
        body = copy.deepcopy(
            self.json("squarebot/message.im.json" if im else "squarebot/message.channels.json")
        )
        body["event_id"] = "Ev" + uuid.uuid4().hex[:10].upper()
        ts = f"{time.time():.6f}"
        body["event"].update(text=text, user=user, channel=channel, ts=ts, event_ts=ts)
        if thread_ts:
            body["event"]["thread_ts"] = thread_ts
        return body

    def command(self, text: str, *, user: str, channel: str, response_url: str) -> dict[str, str]:
        fields = self.form("opsdroid/payload_slash_command.urlencoded")
        fields.update(
            command="/ask",
            text=text,
            user_id=user,
            channel_id=channel,
            response_url=response_url,
            team_id="T061EG9R6",
            trigger_id=f"{time.time():.0f}.{uuid.uuid4().hex}",
        )
        return fields

    def button(
        self, action_id: str, value: str, *, user: str, channel: str, response_url: str
    ) -> dict[str, Any]:
        payload = self.form_payload("opsdroid/payload_block_action_button.urlencoded")
        payload["user"] = {**payload["user"], "id": user, "team_id": "T061EG9R6"}
        payload["team"] = {**payload.get("team", {}), "id": "T061EG9R6"}
        payload["channel"] = {**payload.get("channel", {}), "id": channel}
        payload["response_url"] = response_url
        payload["trigger_id"] = f"{time.time():.0f}.{uuid.uuid4().hex}"
        payload["actions"] = [
            {**payload["actions"][0], "action_id": action_id, "value": value, "type": "button"}
        ]
        return payload

    def app_event(self, event: dict[str, Any], *, team_id: str) -> dict[str, Any]:
        """An Events API callback of `team_id` carrying `event` (the envelope of a real one)."""
        body = copy.deepcopy(self.json("squarebot/app_mention.json"))
        body.update(team_id=team_id, event_id="Ev" + uuid.uuid4().hex[:10].upper(), event=event)
        body.pop("authed_users", None)
        return body

    def view_submission(
        self, callback_id: str, private_metadata: str, *, user: str, values: dict[str, Any]
    ) -> dict[str, Any]:
        payload = self.json("squarebot/view_submission.json")
        payload["user"] = {**payload["user"], "id": user, "team_id": "T061EG9R6"}
        payload["team"] = {**payload.get("team", {}), "id": "T061EG9R6"}
        payload["view"] = {
            **payload["view"],
            "callback_id": callback_id,
            "private_metadata": private_metadata,
            "state": {"values": values},
        }
        return payload


class SlackSender:
    """Posts to /slack/events of a running API, signed like Slack signs."""

    def __init__(self, base_url: str, *, secret: str = SECRET) -> None:
        self.url = f"{base_url}/slack/events"
        self.secret = secret
        self.http = httpx.Client(timeout=30)

    def event(
        self,
        body: dict[str, Any],
        *,
        retry_num: int | None = None,
        timestamp: int | None = None,
        secret: str | None = None,
    ) -> httpx.Response:
        raw = json.dumps(body).encode()
        headers = signed_headers(
            raw, secret=secret or self.secret, timestamp=timestamp, content_type="application/json"
        )
        if retry_num is not None:
            headers.update({"X-Slack-Retry-Num": str(retry_num), "X-Slack-Retry-Reason": "http_timeout"})
        return self.http.post(self.url, content=raw, headers=headers)

    def form(self, fields: dict[str, str]) -> httpx.Response:
        raw = urlencode(fields).encode()
        headers = signed_headers(raw, secret=self.secret, content_type="application/x-www-form-urlencoded")
        return self.http.post(self.url, content=raw, headers=headers)

    def interaction(self, payload: dict[str, Any]) -> httpx.Response:
        return self.form({"payload": json.dumps(payload)})


def start_api(env: dict[str, str], log_file: Path, *, port: int) -> ManagedProcess:
    """`plinth api` on a port, returned once /healthz answers."""
    api = ManagedProcess(
        "api",
        [sys.executable, "-m", "app.cli", "api", "--port", str(port)],
        dict(env),
        log_file,
        stop_timeout_s=15,
    )
    api.start()
    deadline = time.monotonic() + 60
    while True:
        try:
            if httpx.get(f"http://127.0.0.1:{port}/healthz", timeout=1).status_code == 200:
                return api
        except httpx.HTTPError:
            pass
        if api.exited() is not None or time.monotonic() > deadline:
            api.stop()
            raise RuntimeError(f"API did not come up:\n{log_file.read_text()[-3000:]}")
        time.sleep(0.2)


@contextlib.contextmanager
def running_stack(
    *,
    pg: EmbeddedPostgres,
    redis_server: BundledRedis,
    stub_llm: StubServer,
    fake_slack: FakeSlack,
    shared_data: Path,
    home: Path,
    slack_settings: Mapping[str, str],
    prefix: str,
) -> Iterator[dict[str, str]]:
    """A database copy with the leave policy ingested, a worker and `plinth api`, configured for the
    fake Slack API plus `slack_settings`; yields the settings (PLINTH_API_URL included)."""
    name = databases.create_copy(pg, prefix=prefix)
    port = free_port()
    redis_url = private_redis_url(redis_server)
    settings = {
        "PLINTH_HOME": str(home),
        "PLINTH_DATABASE_URL": pg.url(name),
        "PLINTH_REDIS_URL": redis_url,
        "PLINTH_LLM_BASE_URL": stub_llm.base_url,
        "PLINTH_SLACK_SIGNING_SECRET": SECRET,
        "PLINTH_SLACK_API_BASE_URL": fake_slack.api_url,
        "PLINTH_SLACK_MAX_RETRIES": "3",
        "PLINTH_API_URL": f"http://127.0.0.1:{port}",
        **slack_settings,
    }
    env = plinth_env(settings)
    ingested = run_cli("ingest", str(shared_data / LEAVE), env=env)
    assert ingested.returncode == 0, ingested.stderr
    worker = start_worker(env, home / "worker.log", redis_url=redis_url)
    api = start_api(env, home / "api.log", port=port)
    try:
        yield settings
    finally:
        api.stop()
        worker.stop()
        databases.drop(pg, name)


def person(fake: FakeSlack) -> str:
    user = "U" + uuid.uuid4().hex[:9].upper()
    fake.add_user(user, email=f"{user.lower()}@example.com")
    return user


def channel(fake: FakeSlack, members: list[str], *, shared: bool = False) -> str:
    channel_id = "C" + uuid.uuid4().hex[:9].upper()
    fake.add_channel(channel_id, members=[*members, "U0LAN0Z89"], shared=shared)
    return channel_id


def answered_in(fake: FakeSlack, *, channel_id: str, ts: str | None = None) -> dict[str, Any]:
    """The chat.update (or post) carrying the answer's buttons in this channel, once Slack took it."""
    return answer_call(fake, channel_id=channel_id, ts=ts).args


def answer_call(fake: FakeSlack, *, channel_id: str, ts: str | None = None) -> Call:
    """The call that delivered the answer in this channel (with the token it was made with)."""
    deadline = time.monotonic() + 180  # the first answer of a cold worker loads the embedding model
    while time.monotonic() < deadline:
        for call in fake.calls("chat.update") + fake.calls("chat.postMessage"):
            if (
                call.result.get("ok")
                and call.args.get("channel") == channel_id
                and "plinth_answer_actions" in str(call.args.get("blocks"))
                and (ts is None or call.args.get("ts") == ts)
            ):
                return call
        time.sleep(0.1)
    pytest.fail(f"no answer in {channel_id}: {[(c.method, c.args.get('channel')) for c in fake.calls()]}")


def messages(**where: Any) -> list[Message]:
    """Stored messages whose columns have these values."""
    with session_scope() as session:
        query = select(Message)
        for key, value in where.items():
            query = query.where(getattr(Message, key) == value)
        return list(session.scalars(query))
