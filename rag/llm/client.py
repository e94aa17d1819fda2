"""The language model as Plinth calls it: bounded requests over an ordered list of endpoints, each
tried in turn (after its own retries) until one answers; LlmUnavailable when none does."""

from __future__ import annotations

from collections.abc import Sequence

import httpx

from app.core.settings import get_settings, settings_scoped
from app.core.settings.sections import LlmSettings
from rag.llm import tokens
from rag.llm.breaker import CircuitOpen
from rag.llm.endpoint import EndpointClient, EndpointError, client_for
from rag.llm.types import ChatMessage, Completion, Endpoint, LlmUnavailable, PromptTooLong, TextCallback

# Per-message framing the chat template adds around each message's content.
MESSAGE_OVERHEAD_TOKENS = 4


def prompt_tokens(messages: Sequence[ChatMessage]) -> int:
    return sum(tokens.count(m.content) + MESSAGE_OVERHEAD_TOKENS for m in messages)


class LlmClient:
    def __init__(self, endpoints: Sequence[Endpoint], settings: LlmSettings) -> None:
        if not endpoints:
            raise ValueError("an LLM client needs at least one endpoint")
        self.settings = settings
        self.endpoints = list(endpoints)

    def prompt_budget(self, *, max_tokens: int | None = None) -> int:
        """The most prompt tokens every endpoint accepts alongside `max_tokens` of output."""
        output = max_tokens or self.settings.max_output_tokens
        smallest = min(e.context_length for e in self.endpoints)
        return max(0, min(self.settings.max_prompt_tokens, smallest - output))

    def complete(
        self,
        messages: Sequence[ChatMessage],
        *,
        max_tokens: int | None = None,
        on_text: TextCallback | None = None,
    ) -> Completion:
        output = min(max_tokens or self.settings.max_output_tokens, self.settings.max_output_tokens)
        counted = prompt_tokens(messages)
        budget = self.prompt_budget(max_tokens=output)
        if counted > budget:
            raise PromptTooLong(
                f"the prompt has about {counted} tokens; at most {budget} may be sent with "
                f"{output} tokens of output"
            )
        failures: list[str] = []
        attempts = 0
        for endpoint in self.endpoints:
            client = client_for(endpoint, self.settings)
            before = client.requests
            try:
                completion = client.complete(
                    messages, max_tokens=output, prompt_tokens=counted, on_text=on_text
                )
            except CircuitOpen as exc:
                # The call that trips the breaker raises its error with the failure as context.
                cause = exc.__cause__
                if isinstance(cause, EndpointError | httpx.HTTPError):
                    failures.append(f"{endpoint.name}: {_describe(cause)}; circuit now open")
                else:
                    failures.append(f"{endpoint.name}: circuit open after repeated failures")
            except (EndpointError, httpx.HTTPError) as exc:
                failures.append(f"{endpoint.name}: {_describe(exc)}")
            else:
                return Completion(**{**completion.__dict__, "attempts": attempts + completion.attempts})
            attempts += client.requests - before
        raise LlmUnavailable("no language model endpoint answered (" + "; ".join(failures) + ")")

    def clients(self) -> list[EndpointClient]:
        return [client_for(e, self.settings) for e in self.endpoints]

    def healthy(self) -> bool:
        return any(c.healthy() for c in self.clients())


def _describe(exc: Exception) -> str:
    if isinstance(exc, httpx.TimeoutException):
        return f"timed out ({type(exc).__name__})"
    return str(exc) or type(exc).__name__


def configured_endpoints(settings: LlmSettings) -> list[Endpoint]:
    """The endpoints named in the settings: base_url first, then fallback_urls, in order."""
    api_key = settings.api_key.get_secret_value() if settings.api_key else None
    urls = [u for u in [settings.base_url, *settings.fallback_urls] if u]
    return [
        Endpoint(
            name=f"endpoint-{i}",
            base_url=url,
            model=settings.model,
            context_length=settings.context_length,
            api_key=api_key,
        )
        for i, url in enumerate(urls, start=1)
    ]


@settings_scoped
def get_llm_client() -> LlmClient | None:
    """The client for the configured endpoints, or None when none is configured (extractive answers)."""
    settings = get_settings().llm
    endpoints = configured_endpoints(settings)
    return LlmClient(endpoints, settings) if endpoints else None
