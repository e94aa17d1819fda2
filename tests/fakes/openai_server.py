"""A stub of the OpenAI-compatible API vLLM serves (/v1/models, /v1/chat/completions, /health), for
deterministic answers in tests and benchmarks. Its behaviour is switched at run time through /_stub."""

from __future__ import annotations

import asyncio
import re
import threading
import time
from dataclasses import dataclass, field
from typing import Any, Literal

import uvicorn
from fastapi import FastAPI, Request
from fastapi.responses import JSONResponse

Mode = Literal["cite", "uncited", "error", "slow"]
_FIRST_SOURCE = re.compile(r'<source id="1"[^>]*>\n(.*?)\n</source>', re.DOTALL)
MODEL_NAME = "stub-model"


@dataclass
class StubState:
    mode: Mode = "cite"
    delay_s: float = 0.0
    requests: list[dict[str, Any]] = field(default_factory=list)


def reply_for(prompt: str) -> str:
    """'<first sentence of source 1> [1]': grounded in what it was given, and checkable."""
    match = _FIRST_SOURCE.search(prompt)
    if not match:
        return "I do not know."
    first = re.split(r"(?<=[.!?])\s", " ".join(match.group(1).split()), maxsplit=1)[0]
    return f"{first} [1]"


def create_app(state: StubState) -> FastAPI:
    app = FastAPI()

    @app.get("/health")
    async def health() -> dict[str, str]:
        return {"status": "ok"}

    @app.get("/v1/models")
    async def models() -> dict[str, Any]:
        return {"object": "list", "data": [{"id": MODEL_NAME, "object": "model", "max_model_len": 8192}]}

    @app.post("/v1/chat/completions")
    async def chat(request: Request) -> JSONResponse:
        body = await request.json()
        state.requests.append(body)
        if state.mode == "error":
            return JSONResponse(status_code=503, content={"error": {"message": "stub is down"}})
        if state.delay_s:
            await asyncio.sleep(state.delay_s)
        prompt = "\n".join(m["content"] for m in body["messages"])
        text = reply_for(prompt) if state.mode != "uncited" else "Something the sources never said."
        prompt_tokens = len(prompt.split())
        completion_tokens = len(text.split())
        return JSONResponse(
            {
                "id": f"chatcmpl-{len(state.requests)}",
                "object": "chat.completion",
                "created": int(time.time()),
                "model": MODEL_NAME,
                "choices": [
                    {"index": 0, "message": {"role": "assistant", "content": text}, "finish_reason": "stop"}
                ],
                "usage": {
                    "prompt_tokens": prompt_tokens,
                    "completion_tokens": completion_tokens,
                    "total_tokens": prompt_tokens + completion_tokens,
                },
            }
        )

    @app.post("/_stub")
    async def control(request: Request) -> dict[str, Any]:
        body = await request.json()
        state.mode = body.get("mode", state.mode)
        state.delay_s = float(body.get("delay_s", state.delay_s))
        if body.get("clear"):
            state.requests.clear()
        return {"mode": state.mode, "delay_s": state.delay_s}

    @app.get("/_stub/requests")
    async def requests() -> list[dict[str, Any]]:
        return state.requests

    return app


class StubServer:
    """Runs the stub in a background thread on a free port."""

    def __init__(self, port: int = 0) -> None:
        self.state = StubState()
        config = uvicorn.Config(create_app(self.state), host="127.0.0.1", port=port, log_level="warning")
        self._server = uvicorn.Server(config)
        self._thread = threading.Thread(target=self._server.run, daemon=True)

    @property
    def port(self) -> int:
        return int(self._server.servers[0].sockets[0].getsockname()[1])

    @property
    def base_url(self) -> str:
        return f"http://127.0.0.1:{self.port}/v1"

    def start(self) -> StubServer:
        self._thread.start()
        deadline = time.monotonic() + 10
        while not self._server.started:
            if time.monotonic() > deadline:
                raise RuntimeError("stub LLM server did not start")
            time.sleep(0.02)
        return self

    def stop(self) -> None:
        self._server.should_exit = True
        self._thread.join(timeout=10)

    def reset(self) -> None:
        self.state.mode, self.state.delay_s = "cite", 0.0
        self.state.requests.clear()
