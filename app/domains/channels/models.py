"""A shared channel's settings and the principals who read it."""

from __future__ import annotations

import uuid
from datetime import datetime

from sqlalchemy import Boolean, DateTime, ForeignKey, Text
from sqlalchemy.dialects.postgresql import ARRAY
from sqlalchemy.orm import Mapped, mapped_column

from app.core.db import Base, utcnow


class Channel(Base):
    """One channel, named by its audience (`slack:<team>:<channel>`, as recorded on its questions)."""

    __tablename__ = "channels"

    audience: Mapped[str] = mapped_column(Text, primary_key=True)
    name: Mapped[str | None] = mapped_column(Text)
    enabled: Mapped[bool] = mapped_column(Boolean, default=True)
    # Grants that bound what answers here may use (unset: what every member may read).
    scope: Mapped[list[str] | None] = mapped_column(ARRAY(Text))
    mentions_only: Mapped[bool] = mapped_column(Boolean, default=False)
    # Who may ask here, by their id in the channel's system (empty: every member).
    allowed_users: Mapped[list[str]] = mapped_column(ARRAY(Text), default=list)
    has_external_members: Mapped[bool] = mapped_column(Boolean, default=False)  # Slack Connect
    allow_external: Mapped[bool] = mapped_column(Boolean, default=False)
    members_synced_at: Mapped[datetime | None] = mapped_column(DateTime(timezone=True))
    created_at: Mapped[datetime] = mapped_column(DateTime(timezone=True), default=utcnow)
    updated_at: Mapped[datetime] = mapped_column(DateTime(timezone=True), default=utcnow)


class ChannelMember(Base):
    __tablename__ = "channel_members"

    audience: Mapped[str] = mapped_column(
        ForeignKey("channels.audience", ondelete="CASCADE"), primary_key=True
    )
    principal_id: Mapped[uuid.UUID] = mapped_column(
        ForeignKey("principals.id", ondelete="CASCADE"), primary_key=True, index=True
    )
