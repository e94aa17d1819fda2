"""The model registry and the versioned prompt templates answers are generated with."""

from __future__ import annotations

import uuid
from datetime import datetime

from sqlalchemy import Boolean, DateTime, Float, Index, Integer, Text, UniqueConstraint, text
from sqlalchemy.orm import Mapped, mapped_column

from app.core.db import Base, utcnow


class LlmModel(Base):
    """A served model behind an OpenAI-compatible endpoint. Enabled models are tried in priority
    order (lowest first) for failover; their prices turn usage into cost."""

    __tablename__ = "llm_models"

    id: Mapped[uuid.UUID] = mapped_column(primary_key=True, default=uuid.uuid4)
    name: Mapped[str] = mapped_column(Text, unique=True)
    base_url: Mapped[str] = mapped_column(Text)
    served_model: Mapped[str] = mapped_column(Text)  # the name vLLM serves it under (--served-model-name)
    context_length: Mapped[int] = mapped_column(Integer)
    priority: Mapped[int] = mapped_column(Integer, default=100)
    enabled: Mapped[bool] = mapped_column(Boolean, default=True)
    price_in_per_1k: Mapped[float] = mapped_column(Float, default=0.0)
    price_out_per_1k: Mapped[float] = mapped_column(Float, default=0.0)
    # GPU-hour pricing: the hour's cost spread over the tokens the endpoint was measured to serve.
    gpu_hour_cost: Mapped[float | None] = mapped_column(Float)
    throughput_tokens_per_s: Mapped[float | None] = mapped_column(Float)
    created_at: Mapped[datetime] = mapped_column(DateTime(timezone=True), default=utcnow)
    updated_at: Mapped[datetime] = mapped_column(DateTime(timezone=True), default=utcnow)


class PromptTemplateRow(Base):
    """One immutable version of a prompt; at most one version per name is active."""

    __tablename__ = "prompt_templates"
    __table_args__ = (
        UniqueConstraint("name", "version"),
        Index("uq_prompt_templates_active", "name", unique=True, postgresql_where=text("active")),
    )

    id: Mapped[uuid.UUID] = mapped_column(primary_key=True, default=uuid.uuid4)
    name: Mapped[str] = mapped_column(Text)
    version: Mapped[str] = mapped_column(Text)
    system: Mapped[str] = mapped_column(Text)
    user_template: Mapped[str] = mapped_column(Text)
    active: Mapped[bool] = mapped_column(Boolean, default=False)
    note: Mapped[str | None] = mapped_column(Text)
    created_by: Mapped[str] = mapped_column(Text)
    created_at: Mapped[datetime] = mapped_column(DateTime(timezone=True), default=utcnow)
