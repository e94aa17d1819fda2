"""Signed Slack requests built from the real payloads in ../shared/data/slack, sent over HTTP to the
running API exactly as Slack sends them (JSON events, form-encoded interactivity and commands)."""

from __future__ import annotations

import copy
import hashlib
import hmac
import json
import sys
import time
import uuid
from pathlib import Path
from typing import Any
from urllib.parse import parse_qsl, urlencode

import httpx

from app.runtime.processes import ManagedProcess

SECRET = "8f742231b10e8888abcd99yyyzzz85a5"  # test signing secret
BOT_TOKEN = "xoxb-test-plinth"


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
