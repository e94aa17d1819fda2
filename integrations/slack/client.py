"""The Slack Web API client every Slack call goes through: the configured base URL, a timeout, and
retries on 429 (honouring Retry-After), server errors and dropped connections."""

from __future__ import annotations

from typing import Any

from slack_sdk import WebClient
from slack_sdk.http_retry.builtin_handlers import ConnectionErrorRetryHandler, RateLimitErrorRetryHandler
from slack_sdk.http_retry.handler import RetryHandler
from slack_sdk.http_retry.request import HttpRequest
from slack_sdk.http_retry.response import HttpResponse
from slack_sdk.http_retry.state import RetryState
from slack_sdk.oauth.token_rotation import TokenRotator

from app.core.errors import ConfigurationError, NotFound
from app.core.settings import get_settings
from integrations.slack.installations import installation_store

ROTATE_MINUTES_BEFORE_EXPIRY = 120  # Bolt's default for rotating tokens


class NotInstalled(NotFound):
    """OAuth mode: the workspace has no installation (never installed, or uninstalled since)."""


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


def bot_token(
    team_id: str | None = None, *, enterprise_id: str | None = None, org_install: bool = False
) -> str:
    """The bot token for a workspace: the configured one in token mode; in OAuth mode the one its
    installation holds (by team, or by organisation for an org-wide install)."""
    settings = get_settings().slack
    if settings.bot_token is not None:
        return settings.bot_token.get_secret_value()
    if not settings.oauth_enabled:
        raise ConfigurationError(
            "no Slack bot token: set PLINTH_SLACK_BOT_TOKEN (or OAuth mode's client id and secret)"
        )
    store = installation_store()
    bot = store.find_bot(enterprise_id=enterprise_id, team_id=team_id, is_enterprise_install=org_install)
    if bot is None:
        raise NotInstalled(f"Plinth is not installed in Slack workspace {team_id or enterprise_id}")
    if bot.bot_refresh_token is not None and settings.client_id and settings.client_secret:
        # Token rotation is on for the app: refresh a token about to expire, as Bolt does per request.
        rotator = TokenRotator(
            client_id=settings.client_id,
            client_secret=settings.client_secret.get_secret_value(),
            client=web_client(),
        )
        refreshed = rotator.perform_bot_token_rotation(
            bot=bot, minutes_before_expiration=ROTATE_MINUTES_BEFORE_EXPIRY
        )
        if refreshed is not None:
            store.save_bot(refreshed)
            bot = refreshed
    return bot.bot_token


def team_token(reply_to: dict[str, Any]) -> str:
    """The bot token for the workspace a stored question came from (its `reply_to`)."""
    return bot_token(
        reply_to.get("team"),
        enterprise_id=reply_to.get("enterprise"),
        org_install=bool(reply_to.get("org_install")),
    )


def web_client(token: str | None = None, *, retries: bool = True) -> WebClient:
    """A Web API client with the given token (token mode: the configured bot token by default); without
    `retries`, for best-effort calls that must never wait (a 429 raises)."""
    settings = get_settings().slack
    if token is None and settings.bot_token is not None:
        token = settings.bot_token.get_secret_value()
    base_url = settings.api_base_url if settings.api_base_url.endswith("/") else settings.api_base_url + "/"
    return WebClient(
        token=token,
        base_url=base_url,
        timeout=int(settings.timeout_s),
        retry_handlers=retry_handlers() if retries else [],
    )
