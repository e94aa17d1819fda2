"""Every version of every runtime settings section; rows are only ever added."""

from __future__ import annotations

import uuid
from datetime import datetime
from typing import Any

from sqlalchemy import DateTime, Integer, Text, UniqueConstraint
from sqlalchemy.dialects.postgresql import JSONB
from sqlalchemy.orm import Mapped, mapped_column

from app.core.db import Base, utcnow


class ConfigVersion(Base):
    __tablename__ = "runtime_config_versions"
    __table_args__ = (UniqueConstraint("section", "version"),)

    id: Mapped[uuid.UUID] = mapped_column(primary_key=True, default=uuid.uuid4)
    section: Mapped[str] = mapped_column(Text, index=True)
    version: Mapped[int] = mapped_column(Integer)  # 1, 2, 3… per section
    value: Mapped[dict[str, Any]] = mapped_column(JSONB)
    changed_by: Mapped[str] = mapped_column(Text)  # an audit actor: principal:<id> or system
    changed_at: Mapped[datetime] = mapped_column(DateTime(timezone=True), default=utcnow)
    reason: Mapped[str | None] = mapped_column(Text)
    rollback_of: Mapped[int | None] = mapped_column(Integer)  # the version this one restored
