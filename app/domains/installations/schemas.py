"""An installation as the service takes and returns it: tokens in the clear (they are encrypted only
in the table), timestamps as datetimes, absent enterprise/team ids as None."""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import datetime


@dataclass
class InstallationData:
    user_id: str  # the installer
    app_id: str | None = None
    enterprise_id: str | None = None
    enterprise_name: str | None = None
    enterprise_url: str | None = None
    team_id: str | None = None
    team_name: str | None = None
    is_enterprise_install: bool = False
    token_type: str | None = None
    bot_token: str | None = None
    bot_refresh_token: str | None = None
    bot_token_expires_at: datetime | None = None
    bot_id: str | None = None
    bot_user_id: str | None = None
    bot_scopes: list[str] = field(default_factory=list)
    user_token: str | None = None
    user_refresh_token: str | None = None
    user_token_expires_at: datetime | None = None
    user_scopes: list[str] = field(default_factory=list)
    incoming_webhook_url: str | None = None
    incoming_webhook_channel: str | None = None
    incoming_webhook_channel_id: str | None = None
    incoming_webhook_configuration_url: str | None = None
    installed_at: datetime | None = None


@dataclass(frozen=True)
class InstallationSummary:
    """What `plinth slack installations list` shows: no token, only whether there is one."""

    enterprise_id: str | None
    enterprise_name: str | None
    team_id: str | None
    team_name: str | None
    is_enterprise_install: bool
    user_id: str
    has_bot_token: bool
    has_user_token: bool
    bot_scopes: list[str]
    installed_at: datetime
