"""The Slack Web API client every Slack call goes through: the configured base URL, a timeout, and
retries on 429 (honouring Retry-After), server errors and dropped connections."""

from __future__ import annotations

from slack_sdk import WebClient
from slack_sdk.http_retry.builtin_handlers import ConnectionErrorRetryHandler, RateLimitErrorRetryHandler
from slack_sdk.http_retry.handler import RetryHandler
from slack_sdk.http_retry.request import HttpRequest
from slack_sdk.http_retry.response import HttpResponse
from slack_sdk.http_retry.state import RetryState

from app.core.errors import ConfigurationError
from app.core.settings import get_settings


class ServerErrorRetryHandler(RetryHandler):
    """Retry a call Slack answered with a 5xx (a transient failure on its side)."""

    def _can_retry(
        self,
        *,
        state: RetryState,
        request: HttpRequest,
        response: HttpResponse | None = None,
        error: Exception | None = None,
    ) -> bool:
        return response is not None and response.status_code >= 500


def retry_handlers() -> list[RetryHandler]:
    retries = get_settings().slack.max_retries
    return [
        RateLimitErrorRetryHandler(max_retry_count=retries),
        ServerErrorRetryHandler(max_retry_count=retries),
        ConnectionErrorRetryHandler(max_retry_count=retries),
    ]


def bot_token() -> str:
    token = get_settings().slack.bot_token
    if token is None:
        raise ConfigurationError("no Slack bot token: set PLINTH_SLACK_BOT_TOKEN")
    return token.get_secret_value()


def web_client(token: str | None = None, *, retries: bool = True) -> WebClient:
    """A Web API client; without `retries`, for best-effort calls that must never wait (a 429 raises)."""
    settings = get_settings().slack
    base_url = settings.api_base_url if settings.api_base_url.endswith("/") else settings.api_base_url + "/"
    return WebClient(
        token=token or bot_token(),
        base_url=base_url,
        timeout=int(settings.timeout_s),
        retry_handlers=retry_handlers() if retries else [],
    )
