"""A stub of the OpenAI-compatible API vLLM serves (/v1/models, /v1/chat/completions, /health), for
deterministic answers in tests and benchmarks. Its behaviour is switched at run time through /_stub or
its state: fail the next N requests, answer after a delay, stream slowly, or drop the connection
mid-stream. Streaming requests get Server-Sent Events as vLLM sends them."""

from __future__ import annotations

import asyncio
import json
import re
import time
from dataclasses import dataclass, field
from typing import Any, Literal

from fastapi import FastAPI, Request
from fastapi.responses import JSONResponse, StreamingResponse

from tests.support.background_server import BackgroundServer

Mode = Literal["cite", "uncited", "error", "slow"]
_FIRST_SOURCE = re.compile(r'<source id="1"[^>]*>\n(.*?)\n</source>', re.DOTALL)
MODEL_NAME = "stub-model"


@dataclass
class StubState:
    mode: Mode = "cite"
    delay_s: float = 0.0
    requests: list[dict[str, Any]] = field(default_factory=list)
    fail_next: int = 0  # answer this many requests with `fail_status` first
    fail_status: int = 503
    chunk_delay_s: float = 0.0  # between streamed chunks
    drop_after_chunks: int | None = None  # close the stream without [DONE] after this many chunks
    waiting: int = 0  # requests in their delay now
    most_waiting: int = 0  # the most that were in their delay at once


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
    async def chat(request: Request) -> Any:
        body = await request.json()
        state.requests.append(body)
        if state.fail_next > 0:
            state.fail_next -= 1
            return JSONResponse(status_code=state.fail_status, content={"error": {"message": "stub fails"}})
        if state.mode == "error":
            return JSONResponse(status_code=503, content={"error": {"message": "stub is down"}})
        if state.delay_s:
            state.waiting += 1
            state.most_waiting = max(state.most_waiting, state.waiting)
            try:
                await asyncio.sleep(state.delay_s)
            finally:
                state.waiting -= 1
        prompt = "\n".join(m["content"] for m in body["messages"])
        text = reply_for(prompt) if state.mode != "uncited" else "Something the sources never said."
        usage = {
            "prompt_tokens": len(prompt.split()),
            "completion_tokens": len(text.split()),
            "total_tokens": len(prompt.split()) + len(text.split()),
        }
        if body.get("stream"):
            return StreamingResponse(_stream(state, text, usage), media_type="text/event-stream")
        return JSONResponse(
            {
                "id": f"chatcmpl-{len(state.requests)}",
                "object": "chat.completion",
                "created": int(time.time()),
                "model": MODEL_NAME,
                "choices": [
                    {"index": 0, "message": {"role": "assistant", "content": text}, "finish_reason": "stop"}
                ],
                "usage": usage,
            }
        )

    @app.post("/_stub")
    async def control(request: Request) -> dict[str, Any]:
        body = await request.json()
        state.mode = body.get("mode", state.mode)
        state.delay_s = float(body.get("delay_s", state.delay_s))
        state.fail_next = int(body.get("fail_next", state.fail_next))
        state.chunk_delay_s = float(body.get("chunk_delay_s", state.chunk_delay_s))
        if body.get("clear"):
            state.requests.clear()
        return {"mode": state.mode, "delay_s": state.delay_s}

    @app.get("/_stub/requests")
    async def requests() -> list[dict[str, Any]]:
        return state.requests

    return app


async def _stream(state: StubState, text: str, usage: dict[str, int]) -> Any:
    """Word by word, as `data:` events, then a usage chunk and [DONE] (vLLM with include_usage)."""
    words = text.split(" ")
    for number, word in enumerate(words):
        if state.drop_after_chunks is not None and number >= state.drop_after_chunks:
            return
        delta = word if number == 0 else " " + word
        chunk = {"model": MODEL_NAME, "choices": [{"index": 0, "delta": {"content": delta}}]}
        yield f"data: {json.dumps(chunk)}\n\n"
        if state.chunk_delay_s:
            await asyncio.sleep(state.chunk_delay_s)
    yield f"data: {json.dumps({'model': MODEL_NAME, 'choices': [], 'usage': usage})}\n\n"
    yield "data: [DONE]\n\n"


class StubServer(BackgroundServer):
    """Runs the stub in a background thread on a free port."""

    def __init__(self, port: int = 0) -> None:
        self.state = StubState()
        super().__init__(create_app(self.state), port=port, what="stub LLM server")

    @property
    def base_url(self) -> str:
        return f"http://127.0.0.1:{self.port}/v1"

    def reset(self) -> None:
        self.state.mode, self.state.delay_s = "cite", 0.0
        self.state.fail_next, self.state.fail_status = 0, 503
        self.state.chunk_delay_s, self.state.drop_after_chunks = 0.0, None
        self.state.requests.clear()
        self.state.most_waiting = self.state.waiting
