"""Conversations, the messages people send, the answers Plinth gives, their citations and feedback."""

from __future__ import annotations

import uuid
from datetime import datetime
from typing import Any

from pgvector.sqlalchemy import Vector
from sqlalchemy import (
    BigInteger,
    Boolean,
    DateTime,
    Float,
    ForeignKey,
    Integer,
    SmallInteger,
    Text,
    UniqueConstraint,
)
from sqlalchemy.dialects.postgresql import JSONB
from sqlalchemy.orm import Mapped, mapped_column, relationship

from app.core.db import Base, utcnow

QUERY_EMBEDDING_DIMENSIONS = 384


class Conversation(Base):
    """A thread: a Slack thread, an email thread, or a single CLI/API question."""

    __tablename__ = "conversations"
    __table_args__ = (UniqueConstraint("channel", "external_key"),)

    id: Mapped[uuid.UUID] = mapped_column(primary_key=True, default=uuid.uuid4)
    channel: Mapped[str] = mapped_column(Text)  # cli | api | slack | email
    external_key: Mapped[str] = mapped_column(Text)
    started_by: Mapped[uuid.UUID | None] = mapped_column(ForeignKey("principals.id"))
    created_at: Mapped[datetime] = mapped_column(DateTime(timezone=True), default=utcnow)


class Message(Base):
    """An inbound question, stored before anything else happens to it."""

    __tablename__ = "messages"
    __table_args__ = (UniqueConstraint("channel", "external_id"),)

    id: Mapped[uuid.UUID] = mapped_column(primary_key=True, default=uuid.uuid4)
    conversation_id: Mapped[uuid.UUID] = mapped_column(ForeignKey("conversations.id"), index=True)
    principal_id: Mapped[uuid.UUID] = mapped_column(ForeignKey("principals.id"), index=True)
    channel: Mapped[str] = mapped_column(Text)
    # The front end's own id (Slack event id, Message-ID): a redelivery is recognised, not re-answered.
    external_id: Mapped[str | None] = mapped_column(Text)
    text: Mapped[str] = mapped_column(Text)
    correlation_id: Mapped[str] = mapped_column(Text)
    status: Mapped[str] = mapped_column(Text, default="received")  # received | answered
    received_at: Mapped[datetime] = mapped_column(DateTime(timezone=True), default=utcnow, index=True)
    # Where and how the front end replies (Slack channel/thread/placeholder, email headers...).
    reply_to: Mapped[dict[str, Any] | None] = mapped_column(JSONB)
    # Who else reads the answer (e.g. a Slack channel): the answer uses only what all of them may read.
    audience: Mapped[str | None] = mapped_column(Text)
    # The question's embedding, kept so corrections of its answer can match later questions.
    query_embedding: Mapped[list[float] | None] = mapped_column(Vector(QUERY_EMBEDDING_DIMENSIONS))

    answer: Mapped[Answer | None] = relationship(back_populates="message", uselist=False)


class Answer(Base):
    __tablename__ = "answers"

    id: Mapped[uuid.UUID] = mapped_column(primary_key=True, default=uuid.uuid4)
    message_id: Mapped[uuid.UUID] = mapped_column(ForeignKey("messages.id"), unique=True)
    text: Mapped[str] = mapped_column(Text)
    mode: Mapped[str] = mapped_column(Text)  # generated | extractive
    answered: Mapped[bool] = mapped_column(Boolean)
    confidence: Mapped[float] = mapped_column(Float)
    fallback_reason: Mapped[str | None] = mapped_column(Text)
    model: Mapped[str | None] = mapped_column(Text)
    prompt_version: Mapped[str | None] = mapped_column(Text)
    # Everything needed to reproduce the answer: retrieval parameters, embedding model, ...
    settings: Mapped[dict[str, Any]] = mapped_column(JSONB, default=dict)
    prompt_tokens: Mapped[int] = mapped_column(Integer, default=0)
    completion_tokens: Mapped[int] = mapped_column(Integer, default=0)
    processing_ms: Mapped[float] = mapped_column(Float)  # time spent in the worker
    created_at: Mapped[datetime] = mapped_column(DateTime(timezone=True), default=utcnow, index=True)

    message: Mapped[Message] = relationship(back_populates="answer")
    citations: Mapped[list[Citation]] = relationship(order_by="Citation.number", lazy="selectin")


class Citation(Base):
    __tablename__ = "citations"
    __table_args__ = (UniqueConstraint("answer_id", "number"),)

    id: Mapped[int] = mapped_column(BigInteger, primary_key=True, autoincrement=True)
    answer_id: Mapped[uuid.UUID] = mapped_column(ForeignKey("answers.id", ondelete="CASCADE"), index=True)
    number: Mapped[int] = mapped_column(SmallInteger)
    chunk_id: Mapped[int] = mapped_column(ForeignKey("chunks.id"))
    document_id: Mapped[uuid.UUID] = mapped_column(ForeignKey("documents.id"))
    document_version_id: Mapped[uuid.UUID] = mapped_column(ForeignKey("document_versions.id"))
    version_no: Mapped[int] = mapped_column(Integer)
    title: Mapped[str] = mapped_column(Text)
    source: Mapped[str] = mapped_column(Text)
    heading: Mapped[str | None] = mapped_column(Text)
    page: Mapped[int | None] = mapped_column(Integer)
    score: Mapped[float] = mapped_column(Float)


class Feedback(Base):
    """One person's current rating of an answer (a later click replaces an earlier one; both audited)."""

    __tablename__ = "feedback"
    __table_args__ = (UniqueConstraint("answer_id", "principal_id"),)

    id: Mapped[uuid.UUID] = mapped_column(primary_key=True, default=uuid.uuid4)
    answer_id: Mapped[uuid.UUID] = mapped_column(ForeignKey("answers.id", ondelete="CASCADE"), index=True)
    principal_id: Mapped[uuid.UUID] = mapped_column(ForeignKey("principals.id"))
    rating: Mapped[int] = mapped_column(SmallInteger)  # +1 | -1
    reason: Mapped[str | None] = mapped_column(Text)
    channel: Mapped[str | None] = mapped_column(Text)
    created_at: Mapped[datetime] = mapped_column(DateTime(timezone=True), default=utcnow)
    updated_at: Mapped[datetime] = mapped_column(DateTime(timezone=True), default=utcnow)


class Delivery(Base):
    """An answer's way out through a front end. One row per (answer, purpose) is the idempotency key of
    the side effect: a redelivered task finds the row delivered and sends nothing."""

    __tablename__ = "deliveries"
    __table_args__ = (UniqueConstraint("answer_id", "purpose"),)

    id: Mapped[uuid.UUID] = mapped_column(primary_key=True, default=uuid.uuid4)
    answer_id: Mapped[uuid.UUID] = mapped_column(ForeignKey("answers.id", ondelete="CASCADE"))
    message_id: Mapped[uuid.UUID] = mapped_column(ForeignKey("messages.id"), index=True)
    channel: Mapped[str] = mapped_column(Text)
    purpose: Mapped[str] = mapped_column(Text, default="reply")  # reply | share | ...
    status: Mapped[str] = mapped_column(Text, default="pending")  # pending | delivered | failed
    attempts: Mapped[int] = mapped_column(Integer, default=0)
    external_ref: Mapped[str | None] = mapped_column(Text)  # Slack message ts, email Message-ID
    last_error: Mapped[str | None] = mapped_column(Text)
    created_at: Mapped[datetime] = mapped_column(DateTime(timezone=True), default=utcnow)
    updated_at: Mapped[datetime] = mapped_column(DateTime(timezone=True), default=utcnow)
    delivered_at: Mapped[datetime | None] = mapped_column(DateTime(timezone=True))


class Escalation(Base):
    """A request to hand a question to a person."""

    __tablename__ = "escalations"

    id: Mapped[uuid.UUID] = mapped_column(primary_key=True, default=uuid.uuid4)
    message_id: Mapped[uuid.UUID] = mapped_column(ForeignKey("messages.id"), index=True)
    answer_id: Mapped[uuid.UUID | None] = mapped_column(ForeignKey("answers.id", ondelete="SET NULL"))
    requested_by: Mapped[uuid.UUID] = mapped_column(ForeignKey("principals.id"))
    channel: Mapped[str] = mapped_column(Text)
    reason: Mapped[str | None] = mapped_column(Text)
    status: Mapped[str] = mapped_column(Text, default="open")  # open | resolved
    external_ref: Mapped[str | None] = mapped_column(Text)  # where it was posted for people to pick up
    created_at: Mapped[datetime] = mapped_column(DateTime(timezone=True), default=utcnow, index=True)
    resolved_at: Mapped[datetime | None] = mapped_column(DateTime(timezone=True))
    resolved_by: Mapped[uuid.UUID | None] = mapped_column(ForeignKey("principals.id"))
