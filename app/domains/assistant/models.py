"""Answers kept for reuse by the same permission scope while the corpus and the model stay the same."""

from __future__ import annotations

import uuid
from datetime import datetime
from typing import Any

from sqlalchemy import BigInteger, DateTime, ForeignKey, Text
from sqlalchemy.dialects.postgresql import JSONB
from sqlalchemy.orm import Mapped, mapped_column

from app.core.db import Base, utcnow


class CachedAnswer(Base):
    __tablename__ = "answer_cache"

    # sha256 of the normalised question, permission scope, corpus version, model and prompt version.
    key: Mapped[str] = mapped_column(Text, primary_key=True)
    corpus_version: Mapped[int] = mapped_column(BigInteger, index=True)
    answer_id: Mapped[uuid.UUID] = mapped_column(ForeignKey("answers.id", ondelete="CASCADE"))
    payload: Mapped[dict[str, Any]] = mapped_column(JSONB)
    created_at: Mapped[datetime] = mapped_column(DateTime(timezone=True), default=utcnow)
    expires_at: Mapped[datetime] = mapped_column(DateTime(timezone=True))
