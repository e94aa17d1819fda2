"""The Bolt app factory: a fresh app per API process (nothing module-level is mutated per request), with
signature verification on, listeners registered by surface, and a failure in the acknowledgement path
answered with 503 so Slack retries."""

from __future__ import annotations

import logging
from concurrent.futures import ThreadPoolExecutor
from typing import Any

from slack_bolt import App, BoltResponse

from app.core.errors import ConfigurationError
from app.core.settings import get_settings
from integrations.slack import actions, commands, events, home, installations, views
from integrations.slack.client import web_client

logger = logging.getLogger(__name__)
# Threads for the work after each ack (placeholders, member refreshes). Bolt's default of 5 lets
# placeholders queue up behind each other in a burst, delaying the first visible sign by seconds.
AFTER_ACK_THREADS = 32


def _on_error(error: Exception, body: dict[str, Any]) -> BoltResponse:
    # Whatever was not stored and queued must come back: a non-2xx makes Slack retry the event.
    logger.error("Slack request not taken (%s): %s", body.get("type"), error, exc_info=error)
    return BoltResponse(status=503, body="Plinth could not take this request right now; Slack will retry it.")


def create_bolt_app(*, socket_mode: bool = False) -> App:
    """Token mode: every request runs with the configured bot token. OAuth mode (client id and secret,
    no bot token): each request with its workspace's token from the installation store, and Bolt's
    install flow (`oauth_flow`) for `/slack/install` and `/slack/oauth_redirect`."""
    settings = get_settings().slack
    if settings.signing_secret is None and not socket_mode:
        raise ConfigurationError("no Slack signing secret: set PLINTH_SLACK_SIGNING_SECRET")
    oauth: dict[str, Any] = {}
    if settings.oauth_enabled:
        oauth["oauth_settings"] = installations.oauth_settings(settings)
        oauth["authorize"] = installations.authorize(oauth["oauth_settings"])
    app = App(
        client=web_client(),  # token mode: the bot token; OAuth mode: none, each request sets its own
        signing_secret=settings.signing_secret.get_secret_value() if settings.signing_secret else None,
        # The HTTP response waits for the listener's ack, which comes only after the question is stored
        # and queued; slower work (placeholders, member refreshes) runs in lazy listeners after it.
        process_before_response=True,
        request_verification_enabled=not socket_mode,
        token_verification_enabled=False,  # auth.test on the first request, not at start-up
        raise_error_for_unhandled_request=False,
        listener_executor=ThreadPoolExecutor(
            max_workers=AFTER_ACK_THREADS, thread_name_prefix="slack-after-ack"
        ),
        **oauth,
    )
    app.error(_on_error)
    if settings.oauth_enabled:
        app.enable_token_revocation_listeners()  # tokens_revoked / app_uninstalled remove installations
    for surface in (events, commands, actions, views, home):
        surface.register(app)
    return app
