"""Multi-workspace OAuth mode: Bolt's OAuth flow (`/slack/install`, `/slack/oauth_redirect`) backed by
the installations domain — an InstallationStore and an OAuthStateStore on PostgreSQL — and request
authorization that audits events from workspaces that never installed Plinth (or uninstalled it)."""

from __future__ import annotations

import dataclasses
import logging
from collections.abc import Callable
from datetime import UTC, datetime
from typing import Any, TypeVar

from slack_bolt.authorization import AuthorizeResult
from slack_bolt.authorization.authorize import InstallationStoreAuthorize
from slack_bolt.context.context import BoltContext
from slack_bolt.oauth.callback_options import CallbackOptions, FailureArgs, SuccessArgs
from slack_bolt.oauth.oauth_settings import OAuthSettings
from slack_bolt.response import BoltResponse
from slack_sdk.oauth.installation_store import Bot, Installation, InstallationStore
from slack_sdk.oauth.state_store import OAuthStateStore

from app.core.db import session_scope
from app.core.errors import ConfigurationError
from app.core.settings import get_settings
from app.core.settings.front_ends import SlackSettings
from app.domains.installations import service as installations
from app.domains.installations.schemas import InstallationData
from app.domains.principals import service as principals

logger = logging.getLogger(__name__)
T = TypeVar("T")


def _when(value: float | int | None) -> datetime | None:
    return None if value is None else datetime.fromtimestamp(value, UTC)


def _unix(value: datetime | None) -> int | None:
    return None if value is None else int(value.timestamp())


_TIMES = ("bot_token_expires_at", "user_token_expires_at", "installed_at")
# What slack_sdk's Installation and Bot take by the same name and type as InstallationData holds it.
INSTALLATION_FIELDS = tuple(f.name for f in dataclasses.fields(InstallationData) if f.name not in _TIMES)
BOT_FIELDS = (
    "app_id",
    "enterprise_id",
    "enterprise_name",
    "team_id",
    "team_name",
    "bot_token",
    "bot_id",
    "bot_user_id",
    "bot_scopes",
    "bot_refresh_token",
    "is_enterprise_install",
)


def to_data(installation: Installation | Bot) -> InstallationData:
    """A slack_sdk Installation (or Bot: no installer, no user token) as the service takes it."""
    values: dict[str, Any] = {name: getattr(installation, name, None) for name in INSTALLATION_FIELDS}
    values.update(
        user_id=values["user_id"] or "",
        is_enterprise_install=bool(values["is_enterprise_install"]),
        bot_scopes=list(values["bot_scopes"] or []),
        user_scopes=list(values["user_scopes"] or []),
        **{name: _when(getattr(installation, name, None)) for name in _TIMES},
    )
    return InstallationData(**values)


def to_installation(data: InstallationData) -> Installation:
    return Installation(
        **{name: getattr(data, name) for name in INSTALLATION_FIELDS},
        bot_token_expires_at=_unix(data.bot_token_expires_at),
        user_token_expires_at=_unix(data.user_token_expires_at),
        installed_at=data.installed_at,
    )


def to_bot(data: InstallationData) -> Bot:
    values = {name: getattr(data, name) for name in BOT_FIELDS}
    return Bot(
        **{**values, "bot_id": data.bot_id or "", "bot_user_id": data.bot_user_id or ""},
        bot_token_expires_at=_unix(data.bot_token_expires_at),
        installed_at=data.installed_at or datetime.now(UTC),
    )


class PostgresInstallationStore(InstallationStore):
    """slack_sdk's InstallationStore on the `slack_installations` table (each call its own transaction)."""

    def __init__(self, client_id: str) -> None:
        self.client_id = client_id

    @property
    def logger(self) -> logging.Logger:
        return logger

    def _run(self, action: Callable[..., T], **kwargs: Any) -> T:
        with session_scope() as session:
            return action(session, client_id=self.client_id, **kwargs)

    def save(self, installation: Installation) -> None:
        self._run(installations.save, data=to_data(installation))

    def save_bot(self, bot: Bot) -> None:
        self._run(installations.save_bot, data=to_data(bot))

    def find_bot(
        self, *, enterprise_id: str | None, team_id: str | None, is_enterprise_install: bool | None = False
    ) -> Bot | None:
        found = self._run(
            installations.find_bot,
            enterprise_id=enterprise_id,
            team_id=team_id,
            is_enterprise_install=is_enterprise_install,
        )
        return None if found is None else to_bot(found)

    def find_installation(
        self,
        *,
        enterprise_id: str | None,
        team_id: str | None,
        user_id: str | None = None,
        is_enterprise_install: bool | None = False,
    ) -> Installation | None:
        found = self._run(
            installations.find_installation,
            enterprise_id=enterprise_id,
            team_id=team_id,
            user_id=user_id,
            is_enterprise_install=is_enterprise_install,
        )
        return None if found is None else to_installation(found)

    def delete_bot(self, *, enterprise_id: str | None, team_id: str | None) -> None:
        self._run(installations.delete_bot, enterprise_id=enterprise_id, team_id=team_id)

    def delete_installation(
        self, *, enterprise_id: str | None, team_id: str | None, user_id: str | None = None
    ) -> None:
        self._run(
            installations.delete_installation, enterprise_id=enterprise_id, team_id=team_id, user_id=user_id
        )

    def delete_all(self, *, enterprise_id: str | None, team_id: str | None) -> None:
        # app_uninstalled: every installation of the team goes, bot and user tokens alike (one event).
        self.delete_installation(enterprise_id=enterprise_id, team_id=team_id)


class PostgresOAuthStateStore(OAuthStateStore):
    """Install-link states in `slack_oauth_states`: expiring, and consumed by their first use."""

    def __init__(self, *, expiration_seconds: int) -> None:
        self.expiration_seconds = expiration_seconds

    @property
    def logger(self) -> logging.Logger:
        return logger

    def issue(self, *args: Any, **kwargs: Any) -> str:
        with session_scope() as session:
            return installations.issue_state(session, ttl_s=self.expiration_seconds)

    def consume(self, state: str) -> bool:
        if not state:
            return False
        with session_scope() as session:
            return installations.consume_state(session, state=state)


def _audit_refusal(reason: str) -> None:
    principals.record_failed_authentication(channel="slack", reason=reason)


class AuditedAuthorize(InstallationStoreAuthorize):
    """Bolt's installation-store authorization; a request from a workspace with no installation is
    refused (Bolt answers it without running a listener) and audited."""

    def __call__(
        self,
        *,
        context: BoltContext,
        enterprise_id: str | None,
        team_id: str | None,
        user_id: str | None,
        actor_enterprise_id: str | None = None,
        actor_team_id: str | None = None,
        actor_user_id: str | None = None,
    ) -> AuthorizeResult | None:
        # Looked up here first so that a failing database fails the request (503, Slack retries)
        # instead of being swallowed by Bolt's lookup as "not installed" (200, the event lost).
        installed = self.installation_store.find_bot(
            enterprise_id=enterprise_id, team_id=team_id, is_enterprise_install=context.is_enterprise_install
        )
        result = None
        if installed is not None:
            result = super().__call__(
                context=context,
                enterprise_id=enterprise_id,
                team_id=team_id,
                user_id=user_id,
                actor_enterprise_id=actor_enterprise_id,
                actor_team_id=actor_team_id,
                actor_user_id=actor_user_id,
            )
        if result is None:
            where = f"team {team_id}" + (f" (enterprise {enterprise_id})" if enterprise_id else "")
            _audit_refusal(
                f"Slack request from a workspace where Plinth is not installed (or its token failed): {where}"
            )
        return result


def _install_failed(args: FailureArgs) -> BoltResponse:
    # A forged, replayed or expired state, a cancelled install, or a code Slack refused.
    _audit_refusal(f"Slack install refused: {args.reason}")
    return args.default.failure(args)


def _install_succeeded(args: SuccessArgs) -> BoltResponse:
    return args.default.success(args)


def oauth_settings(settings: SlackSettings) -> OAuthSettings:
    if settings.client_id is None or settings.client_secret is None:
        raise ConfigurationError("OAuth mode needs PLINTH_SLACK_CLIENT_ID and PLINTH_SLACK_CLIENT_SECRET")
    return OAuthSettings(
        client_id=settings.client_id,
        client_secret=settings.client_secret.get_secret_value(),
        scopes=settings.scopes,
        user_scopes=settings.user_scopes,
        redirect_uri=settings.redirect_uri,
        install_path=settings.install_path,
        install_page_rendering_enabled=False,  # straight to Slack's consent page
        redirect_uri_path=settings.redirect_uri_path,
        authorization_url=settings.authorize_url,
        callback_options=CallbackOptions(success=_install_succeeded, failure=_install_failed),
        installation_store=PostgresInstallationStore(settings.client_id),
        installation_store_bot_only=True,  # Plinth acts as its bot; user tokens are kept, not used
        state_store=PostgresOAuthStateStore(expiration_seconds=settings.oauth_state_expiration_s),
        state_expiration_seconds=settings.oauth_state_expiration_s,
    )


def authorize(oauth: OAuthSettings) -> AuditedAuthorize:
    return AuditedAuthorize(
        logger=logger,
        client_id=oauth.client_id,
        client_secret=oauth.client_secret,
        installation_store=oauth.installation_store,
        bot_only=True,
        token_rotation_expiration_minutes=oauth.token_rotation_expiration_minutes,
        # auth.test once per token, not on every request's acknowledgement path; the installation is
        # still looked up each time, so an uninstall or a rotated token takes effect at once.
        cache_enabled=True,
    )


def installation_store() -> PostgresInstallationStore:
    client_id = get_settings().slack.client_id
    if client_id is None:
        raise ConfigurationError("no Slack client id: set PLINTH_SLACK_CLIENT_ID for OAuth mode")
    return PostgresInstallationStore(client_id)
