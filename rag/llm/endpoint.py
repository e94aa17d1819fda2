"""One OpenAI-compatible endpoint: a pooled HTTP client, streamed chat completions (SSE), retries with
jitter on connection errors and 5xx only, and a circuit breaker that stops calling an endpoint that
keeps failing until its reset timeout has passed."""

from __future__ import annotations

import json
import threading
import time
from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any

import httpx
from httpx_sse import EventSource
from tenacity import Retrying as _Retrying
from tenacity import retry_if_exception, stop_after_attempt, wait_random_exponential

from app.core.settings.sections import LlmSettings
from rag.llm import tokens
from rag.llm.breaker import CircuitBreaker
from rag.llm.types import ChatMessage, Completion, Endpoint, TextCallback

# Failures worth another try on the same endpoint: the request most likely never reached the model.
_RETRYABLE_TRANSPORT = (httpx.ConnectError, httpx.ConnectTimeout, httpx.RemoteProtocolError)


class EndpointError(Exception):
    """A failed request, with a message that says what happened."""

    def __init__(self, message: str, *, status: int | None = None) -> None:
        super().__init__(message)
        self.status = status


class ClientRejected(EndpointError):
    """A 4xx: the request itself is wrong; retrying or opening the circuit would not help."""


def _retryable(exc: BaseException) -> bool:
    if isinstance(exc, ClientRejected):
        return False
    if isinstance(exc, EndpointError):
        return exc.status is not None and exc.status >= 500
    return isinstance(exc, _RETRYABLE_TRANSPORT)


@dataclass
class _Outcome:
    text: str
    model: str
    prompt_tokens: int | None
    completion_tokens: int | None


class EndpointClient:
    def __init__(self, endpoint: Endpoint, settings: LlmSettings) -> None:
        self.endpoint = endpoint
        self.settings = settings
        headers = {"Authorization": f"Bearer {endpoint.api_key}"} if endpoint.api_key else {}
        self._http = httpx.Client(
            base_url=endpoint.base_url.rstrip("/") + "/",
            headers=headers,
            timeout=httpx.Timeout(settings.read_timeout_s, connect=settings.connect_timeout_s),
        )
        self.breaker = CircuitBreaker(
            fail_max=settings.breaker_fail_max, reset_s=settings.breaker_reset_s, ignored=(ClientRejected,)
        )
        self.requests = 0  # HTTP requests sent, for accounting and tests

    def complete(
        self,
        messages: Sequence[ChatMessage],
        *,
        max_tokens: int,
        prompt_tokens: int,
        on_text: TextCallback | None,
    ) -> Completion:
        """One completion through breaker and retries. Raises CircuitOpen when the
        circuit is open, EndpointError or httpx.HTTPError when the endpoint failed."""
        started = time.perf_counter()
        before = self.requests
        retrying = _Retrying(
            retry=retry_if_exception(_retryable),
            stop=stop_after_attempt(self.settings.retries + 1),
            wait=wait_random_exponential(multiplier=self.settings.retry_backoff_s, max=2.0),
            reraise=True,
        )
        outcome: _Outcome = self.breaker.call(
            retrying, self._request, messages, max_tokens=max_tokens, on_text=on_text
        )
        completion_tokens = outcome.completion_tokens
        return Completion(
            text=outcome.text,
            model=outcome.model or self.endpoint.model,
            prompt_tokens=outcome.prompt_tokens if outcome.prompt_tokens is not None else prompt_tokens,
            completion_tokens=(
                completion_tokens if completion_tokens is not None else tokens.count(outcome.text)
            ),
            latency_ms=(time.perf_counter() - started) * 1000,
            endpoint=self.endpoint.name,
            attempts=self.requests - before,
        )

    def _request(
        self, messages: Sequence[ChatMessage], *, max_tokens: int, on_text: TextCallback | None
    ) -> _Outcome:
        self.requests += 1
        body = {
            "model": self.endpoint.model,
            "messages": [{"role": m.role, "content": m.content} for m in messages],
            "max_tokens": max_tokens,
            "temperature": self.settings.temperature,
            "n": 1,
            "stream": True,
            "stream_options": {"include_usage": True},
        }
        deadline = time.monotonic() + self.settings.total_timeout_s
        with self._http.stream("POST", "chat/completions", json=body) as response:
            if response.status_code >= 400:
                response.read()
                error = ClientRejected if response.status_code < 500 else EndpointError
                raise error(
                    f"HTTP {response.status_code}: {response.text[:200]}", status=response.status_code
                )
            if not response.headers.get("content-type", "").startswith("text/event-stream"):
                return self._whole(response)
            return self._streamed(EventSource(response), deadline, on_text)

    def _streamed(self, source: EventSource, deadline: float, on_text: TextCallback | None) -> _Outcome:
        parts: list[str] = []
        model = ""
        usage: dict[str, Any] = {}
        for event in source.iter_sse():
            if time.monotonic() > deadline:
                raise EndpointError(f"stream exceeded {self.settings.total_timeout_s:g} s")
            if event.data.strip() == "[DONE]":
                break
            chunk = _json(event.data)
            if "error" in chunk:
                raise EndpointError(f"error in stream: {chunk['error']}", status=500)
            model = chunk.get("model") or model
            usage = chunk.get("usage") or usage
            for choice in chunk.get("choices") or []:
                delta = (choice.get("delta") or {}).get("content")
                if delta:
                    parts.append(delta)
                    if on_text is not None:
                        on_text("".join(parts))
        else:
            raise EndpointError("stream ended without [DONE]", status=502)
        return _Outcome("".join(parts), model, usage.get("prompt_tokens"), usage.get("completion_tokens"))

    def _whole(self, response: httpx.Response) -> _Outcome:
        data = _json(response.read().decode())
        try:
            text = data["choices"][0]["message"]["content"] or ""
        except (KeyError, IndexError, TypeError) as exc:
            raise EndpointError(f"malformed completion: {exc!r}", status=502) from exc
        usage = data.get("usage") or {}
        return _Outcome(
            text, data.get("model", ""), usage.get("prompt_tokens"), usage.get("completion_tokens")
        )

    def models(self) -> list[dict[str, Any]]:
        response = self._http.get("models", timeout=self.settings.connect_timeout_s + 1)
        response.raise_for_status()
        return list(response.json().get("data") or [])

    def healthy(self) -> bool:
        """vLLM's /health sits beside /v1, not under it."""
        root = str(self._http.base_url).rstrip("/").removesuffix("/v1")
        try:
            return self._http.get(f"{root}/health", timeout=2.0).status_code == 200
        except httpx.HTTPError:
            return False


def _json(text: str) -> dict[str, Any]:
    try:
        value = json.loads(text)
    except ValueError as exc:
        raise EndpointError(f"not JSON: {text[:100]!r}", status=502) from exc
    if not isinstance(value, dict):
        raise EndpointError(f"not a JSON object: {text[:100]!r}", status=502)
    return value


_clients: dict[tuple[str, str, str | None], EndpointClient] = {}
_lock = threading.Lock()


def client_for(endpoint: Endpoint, settings: LlmSettings) -> EndpointClient:
    """One client (connection pool and breaker) per endpoint per process."""
    key = (endpoint.base_url, endpoint.model, endpoint.api_key)
    with _lock:
        found = _clients.get(key)
        if found is None or found.endpoint != endpoint or found.settings != settings:
            found = _clients[key] = EndpointClient(endpoint, settings)
        return found


def forget_clients() -> None:
    with _lock:
        _clients.clear()
