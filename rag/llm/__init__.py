"""The only code that talks to the language model (vLLM's OpenAI-compatible API)."""

from rag.llm.client import LlmClient, configured_endpoints, get_llm_client, prompt_tokens
from rag.llm.types import (
    ChatMessage,
    ChatModel,
    Completion,
    Endpoint,
    LlmUnavailable,
    PromptTooLong,
    TextCallback,
)

__all__ = [
    "ChatMessage",
    "ChatModel",
    "Completion",
    "Endpoint",
    "LlmClient",
    "LlmUnavailable",
    "PromptTooLong",
    "TextCallback",
    "configured_endpoints",
    "get_llm_client",
    "prompt_tokens",
]
