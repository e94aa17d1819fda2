"""An OpenAI-compatible endpoint that streams a fixed, cited answer after a fixed delay, so the e2e
benchmark measures Plinth's own overhead around a model of known latency."""

from __future__ import annotations

import asyncio
import json
import re
import threading
import time
from typing import Any

import uvicorn
from fastapi import FastAPI, Request
from fastapi.responses import StreamingResponse

_FIRST_SOURCE = re.compile(r'<source id="1"[^>]*>\n(.*?)(?:[.!?]\s|\n</source>)', re.DOTALL)


def create_app(delay_s: float) -> FastAPI:
    app = FastAPI()

    @app.post("/v1/chat/completions")
    async def chat(request: Request) -> StreamingResponse:
        body = await request.json()
        prompt = "\n".join(m["content"] for m in body["messages"])
        await asyncio.sleep(delay_s)
        match = _FIRST_SOURCE.search(prompt)
        text = (" ".join(match.group(1).split()) + ". [1]") if match else "I do not know."
        usage = {"prompt_tokens": len(prompt.split()), "completion_tokens": len(text.split())}

        async def events() -> Any:
            chunk = {"model": "bench-model", "choices": [{"index": 0, "delta": {"content": text}}]}
            yield f"data: {json.dumps(chunk)}\n\n"
            yield f"data: {json.dumps({'model': 'bench-model', 'choices': [], 'usage': usage})}\n\n"
            yield "data: [DONE]\n\n"

        return StreamingResponse(events(), media_type="text/event-stream")

    return app


class DelayedModel:
    def __init__(self, delay_s: float) -> None:
        config = uvicorn.Config(create_app(delay_s), host="127.0.0.1", port=0, log_level="warning")
        self._server = uvicorn.Server(config)
        self._thread = threading.Thread(target=self._server.run, daemon=True)

    @property
    def base_url(self) -> str:
        port = self._server.servers[0].sockets[0].getsockname()[1]
        return f"http://127.0.0.1:{port}/v1"

    def __enter__(self) -> DelayedModel:
        self._thread.start()
        deadline = time.monotonic() + 10
        while not self._server.started:
            if time.monotonic() > deadline:
                raise RuntimeError("benchmark model endpoint did not start")
            time.sleep(0.02)
        return self

    def __exit__(self, *_: object) -> None:
        self._server.should_exit = True
        self._thread.join(timeout=10)
