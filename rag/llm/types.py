"""What the rest of Plinth sees of the language model: messages in, a completion out."""

from __future__ import annotations

from collections.abc import Callable, Sequence
from dataclasses import dataclass
from typing import Protocol

from app.core.errors import InvalidInput, Unavailable

# Called with the text generated so far while the model streams.
TextCallback = Callable[[str], None]


@dataclass(frozen=True)
class ChatMessage:
    role: str
    content: str


class LlmUnavailable(Unavailable):
    """Every endpoint failed, timed out or had its circuit open."""

    code = "llm_unavailable"


class PromptTooLong(InvalidInput):
    """The request would exceed the bounds set for it; it was not sent."""

    code = "llm_prompt_too_long"


@dataclass(frozen=True)
class Endpoint:
    """One OpenAI-compatible server and the model it serves, in failover order."""

    name: str
    base_url: str
    model: str
    context_length: int = 8192
    api_key: str | None = None


@dataclass(frozen=True)
class Completion:
    text: str
    model: str
    prompt_tokens: int
    completion_tokens: int
    latency_ms: float
    endpoint: str = ""
    attempts: int = 1  # HTTP requests it took, over all endpoints


class ChatModel(Protocol):
    def complete(
        self,
        messages: Sequence[ChatMessage],
        *,
        max_tokens: int | None = None,
        on_text: TextCallback | None = None,
    ) -> Completion: ...
