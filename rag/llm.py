"""The one client that talks to the language model: an OpenAI-compatible chat completions API, as
vLLM serves it. Nothing else in Plinth opens a connection to the model."""

from __future__ import annotations

import time
from collections.abc import Sequence
from dataclasses import dataclass
from typing import Protocol

import httpx

from app.core.errors import Unavailable
from app.core.settings import LlmSettings, get_settings, settings_scoped
from rag.prompts import ChatMessage


class LlmUnavailable(Unavailable):
    code = "llm_unavailable"


@dataclass(frozen=True)
class Completion:
    text: str
    model: str
    prompt_tokens: int
    completion_tokens: int
    latency_ms: float


class ChatModel(Protocol):
    def complete(self, messages: Sequence[ChatMessage], *, max_tokens: int | None = None) -> Completion: ...


class LlmClient:
    def __init__(self, settings: LlmSettings) -> None:
        if not settings.base_url:
            raise ValueError("an LLM client needs a base URL")
        self.settings = settings
        headers = {}
        if settings.api_key is not None:
            headers["Authorization"] = f"Bearer {settings.api_key.get_secret_value()}"
        self._http = httpx.Client(
            base_url=settings.base_url.rstrip("/") + "/",
            headers=headers,
            timeout=httpx.Timeout(settings.read_timeout_s, connect=settings.connect_timeout_s),
        )

    def complete(self, messages: Sequence[ChatMessage], *, max_tokens: int | None = None) -> Completion:
        body = {
            "model": self.settings.model,
            "messages": [{"role": m.role, "content": m.content} for m in messages],
            "max_tokens": max_tokens or self.settings.max_output_tokens,
            "temperature": self.settings.temperature,
            "n": 1,
            "stream": False,
        }
        started = time.perf_counter()
        try:
            response = self._http.post("chat/completions", json=body)
            response.raise_for_status()
            data = response.json()
            choice = data["choices"][0]["message"]["content"] or ""
        except (httpx.HTTPError, ValueError, KeyError, IndexError, TypeError) as exc:
            raise LlmUnavailable(f"language model at {self.settings.base_url} failed: {exc}") from exc
        usage = data.get("usage") or {}
        return Completion(
            text=choice,
            model=data.get("model") or self.settings.model,
            prompt_tokens=int(usage.get("prompt_tokens") or 0),
            completion_tokens=int(usage.get("completion_tokens") or 0),
            latency_ms=(time.perf_counter() - started) * 1000,
        )

    def healthy(self) -> bool:
        try:
            return self._http.get("models", timeout=2.0).status_code == 200
        except httpx.HTTPError:
            return False


@settings_scoped
def get_llm_client() -> LlmClient | None:
    """The configured client, or None when no model endpoint is configured (extractive answers)."""
    settings = get_settings().llm
    return LlmClient(settings) if settings.base_url else None
