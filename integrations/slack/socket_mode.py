"""Socket Mode for local development: the same Bolt app and listeners, over a WebSocket Slack opens
with the app-level token (PLINTH_SLACK_APP_TOKEN), so no public URL is needed."""

from __future__ import annotations

from slack_bolt.adapter.socket_mode import SocketModeHandler

from app.core.errors import ConfigurationError
from app.core.settings import get_settings
from integrations.slack.bolt_app import create_bolt_app
from integrations.slack.client import web_client


def run() -> None:
    token = get_settings().slack.app_token
    if token is None:
        raise ConfigurationError(
            "Socket Mode needs an app-level token: set PLINTH_SLACK_APP_TOKEN (xapp-...)"
        )
    app = create_bolt_app(socket_mode=True)
    # The connection is opened through the configured Web API (apps.connections.open), like every call.
    SocketModeHandler(
        app, app_token=token.get_secret_value(), web_client=web_client(token.get_secret_value())
    ).start()
