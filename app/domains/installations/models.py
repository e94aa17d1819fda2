"""One Slack installation: a workspace (or an Enterprise Grid organisation, for an org-wide install)
and the installer, with the tokens Slack issued — every token and the incoming-webhook URL encrypted
(`app.core.token_crypto`), never stored in the clear."""

from __future__ import annotations

import uuid
from datetime import datetime

from sqlalchemy import Boolean, DateTime, Text, UniqueConstraint
from sqlalchemy.dialects.postgresql import ARRAY
from sqlalchemy.orm import Mapped, mapped_column

from app.core.db import Base, utcnow

NONE = ""  # enterprise_id / team_id of an installation without one (unique keys need a value)


class SlackInstallation(Base):
    """The latest installation per (app, enterprise, team, installer); a reinstall replaces it."""

    __tablename__ = "slack_installations"
    __table_args__ = (UniqueConstraint("client_id", "enterprise_id", "team_id", "user_id"),)

    id: Mapped[uuid.UUID] = mapped_column(primary_key=True, default=uuid.uuid4)
    client_id: Mapped[str] = mapped_column(Text)
    app_id: Mapped[str | None] = mapped_column(Text)
    enterprise_id: Mapped[str] = mapped_column(Text, default=NONE)
    enterprise_name: Mapped[str | None] = mapped_column(Text)
    enterprise_url: Mapped[str | None] = mapped_column(Text)
    team_id: Mapped[str] = mapped_column(Text, default=NONE)
    team_name: Mapped[str | None] = mapped_column(Text)
    is_enterprise_install: Mapped[bool] = mapped_column(Boolean, default=False)
    token_type: Mapped[str | None] = mapped_column(Text)
    bot_token_encrypted: Mapped[str | None] = mapped_column(Text)
    bot_refresh_token_encrypted: Mapped[str | None] = mapped_column(Text)
    bot_token_expires_at: Mapped[datetime | None] = mapped_column(DateTime(timezone=True))
    bot_id: Mapped[str | None] = mapped_column(Text)
    bot_user_id: Mapped[str | None] = mapped_column(Text)
    bot_scopes: Mapped[list[str]] = mapped_column(ARRAY(Text), default=list)
    user_id: Mapped[str] = mapped_column(Text)
    user_token_encrypted: Mapped[str | None] = mapped_column(Text)
    user_refresh_token_encrypted: Mapped[str | None] = mapped_column(Text)
    user_token_expires_at: Mapped[datetime | None] = mapped_column(DateTime(timezone=True))
    user_scopes: Mapped[list[str]] = mapped_column(ARRAY(Text), default=list)
    incoming_webhook_url_encrypted: Mapped[str | None] = mapped_column(Text)
    incoming_webhook_channel: Mapped[str | None] = mapped_column(Text)
    incoming_webhook_channel_id: Mapped[str | None] = mapped_column(Text)
    incoming_webhook_configuration_url: Mapped[str | None] = mapped_column(Text)
    installed_at: Mapped[datetime] = mapped_column(DateTime(timezone=True), default=utcnow, index=True)


class SlackOAuthState(Base):
    """A state handed out with an install link: valid until `expires_at`, consumed by its first use."""

    __tablename__ = "slack_oauth_states"

    state: Mapped[str] = mapped_column(Text, primary_key=True)
    expires_at: Mapped[datetime] = mapped_column(DateTime(timezone=True), index=True)
    created_at: Mapped[datetime] = mapped_column(DateTime(timezone=True), default=utcnow)
