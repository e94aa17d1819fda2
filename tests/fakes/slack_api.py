"""A fake Slack Web API speaking real HTTP: the methods Plinth calls (form or JSON bodies, bearer
token), a directory of users and channels, response_url endpoints, every call recorded with its arrival
time, and failures on demand (429 with Retry-After, 5xx, Slack error codes). slack_sdk reaches it
through `base_url` (PLINTH_SLACK_API_BASE_URL), so the production code path is unchanged.

For OAuth installs it answers `oauth.v2.access` as Slack does (client id and secret in HTTP Basic auth,
a single-use code granted beforehand with `grant`), and `auth.test` for each token it issued with that
token's workspace."""

from __future__ import annotations

import asyncio
import base64
import itertools
import json
import threading
import time
from dataclasses import dataclass, field
from typing import Any
from urllib.parse import parse_qsl

import uvicorn
from fastapi import FastAPI, Request, WebSocket, WebSocketDisconnect
from fastapi.responses import JSONResponse, Response

TEAM = "T061EG9R6"
BOT_USER = "U0LAN0Z89"
BOT_ID = "B0PLINTH1"


@dataclass
class Call:
    method: str
    args: dict[str, Any]
    at: float  # time.time() on arrival
    token: str | None
    result: dict[str, Any] = field(default_factory=dict)  # what the fake answered


@dataclass
class Failure:
    status: int = 429
    retry_after: int | None = 1
    error: str = "ratelimited"
    times: int = 1
    channel: str | None = None  # only calls about this channel fail


@dataclass
class FakeSlackState:
    users: dict[str, dict[str, Any]] = field(default_factory=dict)
    channels: dict[str, dict[str, Any]] = field(default_factory=dict)
    calls: list[Call] = field(default_factory=list)
    failures: dict[str, list[Failure]] = field(default_factory=dict)
    files: dict[str, bytes] = field(default_factory=dict)  # served at /files/{name} to the bot token
    # Socket Mode: envelopes to push to the connected client, and the acks it sent back.
    outbox: list[dict[str, Any]] = field(default_factory=list)
    socket_acks: list[dict[str, Any]] = field(default_factory=list)
    socket_connected: bool = False
    # OAuth: the app's credentials, codes granted (each answered once), and each issued token's identity.
    oauth_client: tuple[str, str] | None = None
    grants: dict[str, dict[str, Any]] = field(default_factory=dict)
    tokens: dict[str, dict[str, Any]] = field(default_factory=dict)
    revoked: set[str] = field(default_factory=set)
    refreshes: dict[str, dict[str, Any]] = field(default_factory=dict)  # refresh token → its answer
    lock: threading.Lock = field(default_factory=threading.Lock)


def _ts_counter() -> itertools.count[int]:
    return itertools.count(1)


def create_app(state: FakeSlackState) -> FastAPI:
    app = FastAPI()
    counter = _ts_counter()

    def new_ts() -> str:
        return f"{int(time.time())}.{next(counter):06d}"

    async def args_of(request: Request) -> dict[str, Any]:
        raw = await request.body()
        if request.headers.get("content-type", "").startswith("application/json"):
            return json.loads(raw or b"{}")
        return dict(parse_qsl(raw.decode()))

    def failure_for(method: str, args: dict[str, Any]) -> Failure | None:
        with state.lock:
            queued = state.failures.get(method) or []
            matching = [f for f in queued if f.channel is None or f.channel == args.get("channel")]
            if not matching:
                return None
            failure = matching[0]
            failure.times -= 1
            if failure.times <= 0:
                queued.remove(failure)
            return failure

    def lookup(table: dict[str, dict[str, Any]], key: str, missing: str) -> dict[str, Any] | None:
        found = table.get(key)
        if found is None:
            raise LookupError(missing)
        return found

    def members(args: dict[str, Any]) -> dict[str, Any]:
        channel = lookup(state.channels, args.get("channel", ""), "channel_not_found")
        assert channel is not None
        return {"members": channel.get("members", []), "response_metadata": {"next_cursor": ""}}

    def message(args: dict[str, Any]) -> dict[str, Any]:
        ts = args.get("ts") or new_ts()
        return {"channel": args.get("channel"), "ts": ts, "message": {"text": args.get("text"), "ts": ts}}

    def permalink(args: dict[str, Any]) -> dict[str, Any]:
        channel, ts = args.get("channel"), args.get("message_ts")
        return {"permalink": f"https://test.slack.com/archives/{channel}/p{ts}"}

    auth = {"user_id": BOT_USER, "bot_id": BOT_ID, "team_id": TEAM, "user": "plinth", "team": "Test"}

    def auth_test(args: dict[str, Any], token: str | None) -> dict[str, Any]:
        if token in state.revoked:
            raise LookupError("token_revoked")
        return state.tokens.get(token or "", auth)

    def oauth_access(args: dict[str, Any], basic: str | None) -> dict[str, Any]:
        try:
            client_id, _, secret = base64.b64decode(basic or "").decode().partition(":")
        except ValueError:
            client_id, secret = "", ""
        if state.oauth_client is None or client_id != state.oauth_client[0]:
            raise LookupError("invalid_client_id")
        if secret != state.oauth_client[1]:
            raise LookupError("bad_client_secret")
        with state.lock:
            if args.get("grant_type") == "refresh_token":  # token rotation
                granted = state.refreshes.pop(args.get("refresh_token", ""), None)
                if granted is None:
                    raise LookupError("invalid_refresh_token")
                return granted
            granted = state.grants.pop(args.get("code", ""), None)
        if granted is None:
            raise LookupError("invalid_code")
        return granted

    methods: dict[str, Any] = {
        "users.info": lambda args: {"user": lookup(state.users, args.get("user", ""), "user_not_found")},
        "conversations.info": lambda args: {
            "channel": lookup(state.channels, args.get("channel", ""), "channel_not_found")
        },
        "conversations.members": members,
        "chat.postMessage": message,
        "chat.update": message,
        "chat.postEphemeral": lambda args: {"message_ts": new_ts()},
        "chat.getPermalink": permalink,
        "views.open": lambda args: {"view": {"id": "V" + new_ts().replace(".", "")}},
        "views.publish": lambda args: {"view": {"id": "V" + new_ts().replace(".", "")}},
    }

    def answer(method: str, args: dict[str, Any], token: str | None) -> dict[str, Any]:
        try:
            if method == "auth.test":
                return dict(auth_test(args, token))
            if method == "oauth.v2.access":
                return dict(oauth_access(args, (token or "").removeprefix("Basic ")))
            handler = methods.get(method)
            return {} if handler is None else dict(handler(args))
        except LookupError as missing:
            return {"ok": False, "error": str(missing)}

    @app.post("/api/{method}")
    async def web_api(method: str, request: Request) -> Response:
        args = await args_of(request)
        for key in ("blocks", "view", "attachments"):
            if isinstance(args.get(key), str):
                args[key] = json.loads(args[key])
        token = (request.headers.get("authorization") or "").removeprefix("Bearer ") or None
        if method == "apps.connections.open":  # Socket Mode: where to open the WebSocket
            return JSONResponse({"ok": True, "url": f"ws://{request.url.netloc}/link"})
        failure = failure_for(method, args)
        if failure is not None:
            headers = {"Retry-After": str(failure.retry_after)} if failure.retry_after is not None else {}
            result = {"ok": False, "error": failure.error}
            status = failure.status
        else:
            body = answer(method, args, token)
            result, status, headers = ({"ok": True, **body} if body.get("ok") is not False else body), 200, {}
        with state.lock:
            state.calls.append(Call(method=method, args=args, at=time.time(), token=token, result=result))
        return JSONResponse(result, status_code=status, headers=headers)

    @app.websocket("/link")
    async def socket_mode(websocket: WebSocket) -> None:
        await websocket.accept()
        await websocket.send_text(
            json.dumps({"type": "hello", "num_connections": 1, "connection_info": {"app_id": "A1"}})
        )
        state.socket_connected = True
        try:
            while True:
                with state.lock:
                    pending, state.outbox[:] = list(state.outbox), []
                for envelope in pending:
                    await websocket.send_text(json.dumps(envelope))
                try:
                    reply = await asyncio.wait_for(websocket.receive_text(), timeout=0.05)
                except TimeoutError:
                    continue
                with state.lock:
                    state.socket_acks.append(json.loads(reply))
        except WebSocketDisconnect:
            state.socket_connected = False

    @app.get("/files/{name}")
    async def download(name: str, request: Request) -> Response:
        token = (request.headers.get("authorization") or "").removeprefix("Bearer ")
        with state.lock:
            state.calls.append(Call(method=f"files:{name}", args={}, at=time.time(), token=token or None))
        if not token.startswith("xoxb-"):
            return Response("not allowed", status_code=403)
        data = state.files.get(name)
        return (
            Response(data, media_type="application/octet-stream")
            if data is not None
            else Response(status_code=404)
        )

    @app.post("/response/{hook}")
    async def response_url(hook: str, request: Request) -> Response:
        args = await args_of(request)
        with state.lock:
            state.calls.append(Call(method=f"response_url:{hook}", args=args, at=time.time(), token=None))
        failure = failure_for("response_url", args)
        if failure is not None:
            return Response(failure.error, status_code=failure.status)
        return Response("ok")

    return app


class FakeSlack:
    """Runs the fake in a background thread on a free port."""

    def __init__(self) -> None:
        self.state = FakeSlackState()
        config = uvicorn.Config(create_app(self.state), host="127.0.0.1", port=0, log_level="warning")
        self._server = uvicorn.Server(config)
        self._thread = threading.Thread(target=self._server.run, daemon=True)
        self.add_user(BOT_USER, email=None, is_bot=True)

    @property
    def base_url(self) -> str:
        port = self._server.servers[0].sockets[0].getsockname()[1]
        return f"http://127.0.0.1:{port}"

    @property
    def api_url(self) -> str:
        return f"{self.base_url}/api/"

    def response_url(self, hook: str) -> str:
        return f"{self.base_url}/response/{hook}"

    def start(self) -> FakeSlack:
        self._thread.start()
        deadline = time.monotonic() + 10
        while not self._server.started:
            if time.monotonic() > deadline:
                raise RuntimeError("fake Slack API did not start")
            time.sleep(0.02)
        return self

    def stop(self) -> None:
        self._server.should_exit = True
        self._thread.join(timeout=10)

    def reset(self) -> None:
        with self.state.lock:
            self.state.calls.clear()
            self.state.failures.clear()

    def add_user(self, user_id: str, *, email: str | None, team_id: str = TEAM, is_bot: bool = False) -> None:
        self.state.users[user_id] = {
            "id": user_id,
            "team_id": team_id,
            "name": user_id.lower(),
            "real_name": f"User {user_id}",
            "is_bot": is_bot,
            "deleted": False,
            "profile": {"email": email, "real_name": f"User {user_id}"} if email else {"real_name": user_id},
        }

    def add_channel(
        self, channel_id: str, *, members: list[str], name: str = "general", shared: bool = False
    ) -> None:
        self.state.channels[channel_id] = {
            "id": channel_id,
            "name": name,
            "is_channel": True,
            "is_ext_shared": shared,
            "members": members,
        }

    def add_file(self, name: str, data: bytes) -> str:
        """Serve the bytes as a private Slack file; returns its download URL."""
        self.state.files[name] = data
        return f"{self.base_url}/files/{name}"

    def register_app(self, client_id: str, client_secret: str) -> None:
        """The OAuth app's credentials, which `oauth.v2.access` checks."""
        self.state.oauth_client = (client_id, client_secret)

    def grant(
        self,
        code: str,
        *,
        team_id: str,
        bot_token: str,
        installer: str = "U0INSTALL1",
        bot_user: str = BOT_USER,
        team_name: str = "Another Workspace",
        enterprise: dict[str, str] | None = None,
        is_enterprise_install: bool = False,
        scope: str = "app_mentions:read,chat:write,commands,users:read,users:read.email",
        user_token: str | None = None,
    ) -> dict[str, Any]:
        """Let `oauth.v2.access` exchange `code` (once) for an installation of `team_id`, answered in
        Slack's shape, and let `auth.test` know the bot token as that workspace's bot."""
        response: dict[str, Any] = {
            "ok": True,
            "access_token": bot_token,
            "token_type": "bot",
            "scope": scope,
            "bot_user_id": bot_user,
            "app_id": "A0PLINTH01",
            "team": None if is_enterprise_install else {"name": team_name, "id": team_id},
            "enterprise": enterprise,
            "is_enterprise_install": is_enterprise_install,
            "authed_user": {"id": installer},
        }
        if user_token is not None:
            response["authed_user"].update(scope="search:read", access_token=user_token, token_type="user")
        with self.state.lock:
            self.state.grants[code] = response
            self.state.tokens[bot_token] = {
                "url": f"https://{team_id.lower()}.slack.com/",
                "team": team_name,
                "user": "plinth",
                "team_id": team_id,
                "user_id": bot_user,
                "bot_id": BOT_ID,
                "enterprise_id": (enterprise or {}).get("id"),
                "is_enterprise_install": is_enterprise_install,
            }
        return response

    def allow_refresh(self, refresh_token: str, *, new_token: str, new_refresh_token: str) -> None:
        """Let `oauth.v2.access` (grant_type=refresh_token) exchange `refresh_token` once, for a bot
        token that expires in 12 hours, as Slack's token rotation does."""
        with self.state.lock:
            self.state.refreshes[refresh_token] = {
                "ok": True,
                "access_token": new_token,
                "token_type": "bot",
                "refresh_token": new_refresh_token,
                "expires_in": 43200,
            }

    def revoke(self, token: str) -> None:
        """Slack no longer accepts the token (after tokens_revoked / app_uninstalled)."""
        with self.state.lock:
            self.state.revoked.add(token)

    def fail(self, method: str, failure: Failure) -> None:
        with self.state.lock:
            self.state.failures.setdefault(method, []).append(failure)

    def calls(self, method: str | None = None) -> list[Call]:
        with self.state.lock:
            return [c for c in self.state.calls if method is None or c.method == method]

    def wait_for(self, method: str, *, count: int = 1, timeout_s: float = 30.0, **match: Any) -> list[Call]:
        deadline = time.monotonic() + timeout_s
        while True:
            found = [c for c in self.calls(method) if all(c.args.get(k) == v for k, v in match.items())]
            if len(found) >= count or time.monotonic() > deadline:
                return found
            time.sleep(0.05)
