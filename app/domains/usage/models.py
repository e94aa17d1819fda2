"""What answers cost (tokens, latency, money) and the budgets and rate limits that bound it."""

from __future__ import annotations

import uuid
from datetime import date, datetime

from sqlalchemy import (
    BigInteger,
    Boolean,
    Date,
    DateTime,
    Float,
    ForeignKey,
    Index,
    Integer,
    Text,
    UniqueConstraint,
)
from sqlalchemy.orm import Mapped, mapped_column

from app.core.db import Base, utcnow


class UsageRecord(Base):
    """One per answer (refused and cached ones too), with the scopes it counts against."""

    __tablename__ = "usage_records"
    __table_args__ = (
        Index("ix_usage_records_day_principal", "day", "principal_id"),
        Index("ix_usage_records_day_team", "day", "team"),
        Index("ix_usage_records_day_channel", "day", "channel"),
    )

    id: Mapped[int] = mapped_column(BigInteger, primary_key=True, autoincrement=True)
    answer_id: Mapped[uuid.UUID] = mapped_column(ForeignKey("answers.id", ondelete="CASCADE"), unique=True)
    principal_id: Mapped[uuid.UUID] = mapped_column(ForeignKey("principals.id"))
    team: Mapped[str | None] = mapped_column(Text)
    channel: Mapped[str] = mapped_column(Text)
    day: Mapped[date] = mapped_column(Date)  # UTC
    mode: Mapped[str] = mapped_column(Text)
    model: Mapped[str | None] = mapped_column(Text)
    endpoint: Mapped[str | None] = mapped_column(Text)
    prompt_tokens: Mapped[int] = mapped_column(Integer, default=0)
    completion_tokens: Mapped[int] = mapped_column(Integer, default=0)
    llm_latency_ms: Mapped[float] = mapped_column(Float, default=0.0)
    total_latency_ms: Mapped[float] = mapped_column(Float, default=0.0)
    cost: Mapped[float] = mapped_column(Float, default=0.0)
    cached: Mapped[bool] = mapped_column(Boolean, default=False)
    created_at: Mapped[datetime] = mapped_column(DateTime(timezone=True), default=utcnow, index=True)


class Budget(Base):
    """Limits for one user (principal id), team (Slack team id) or channel (audience or channel name).
    Soft limits add a warning to answers; hard limits and the rate limit refuse before the LLM runs."""

    __tablename__ = "budgets"
    __table_args__ = (UniqueConstraint("scope_kind", "scope_value"),)

    id: Mapped[uuid.UUID] = mapped_column(primary_key=True, default=uuid.uuid4)
    scope_kind: Mapped[str] = mapped_column(Text)  # user | team | channel
    scope_value: Mapped[str] = mapped_column(Text)
    period: Mapped[str] = mapped_column(Text, default="day")  # day | month (UTC)
    soft_tokens: Mapped[int | None] = mapped_column(BigInteger)
    hard_tokens: Mapped[int | None] = mapped_column(BigInteger)
    soft_cost: Mapped[float | None] = mapped_column(Float)
    hard_cost: Mapped[float | None] = mapped_column(Float)
    requests_per_minute: Mapped[int | None] = mapped_column(Integer)
    updated_by: Mapped[str] = mapped_column(Text)
    updated_at: Mapped[datetime] = mapped_column(DateTime(timezone=True), default=utcnow)
