"""Inbound email as received (raw bytes in the blob store) and what became of each message."""

from __future__ import annotations

import uuid
from datetime import datetime
from typing import Any

from sqlalchemy import BigInteger, DateTime, ForeignKey, Index, Text
from sqlalchemy.dialects.postgresql import ARRAY, JSONB
from sqlalchemy.orm import Mapped, mapped_column

from app.core.db import Base, utcnow


class InboundMail(Base):
    """One SMTP transaction's message, stored before `250 OK` so nothing accepted is ever lost."""

    __tablename__ = "inbound_mail"
    __table_args__ = (
        Index("ix_inbound_mail_message_id", "message_id"),
        Index("ix_inbound_mail_sender_received_at", "sender", "received_at"),
    )

    id: Mapped[uuid.UUID] = mapped_column(primary_key=True, default=uuid.uuid4)
    blob_key: Mapped[str] = mapped_column(Text)  # SHA-256 of the raw message in the blob store
    size: Mapped[int] = mapped_column(BigInteger)
    envelope_from: Mapped[str] = mapped_column(Text)  # "" for bounces (MAIL FROM:<>)
    envelope_to: Mapped[list[str]] = mapped_column(ARRAY(Text))
    peer: Mapped[str | None] = mapped_column(Text)
    received_at: Mapped[datetime] = mapped_column(DateTime(timezone=True), default=utcnow, index=True)
    # received → processed | quarantined | refused (quarantined can be released or discarded)
    status: Mapped[str] = mapped_column(Text, default="received", index=True)
    kind: Mapped[str | None] = mapped_column(Text)  # question | forward | both | bounce | report | ...
    reason: Mapped[str | None] = mapped_column(Text)  # a stable code, e.g. sender.unknown
    detail: Mapped[str | None] = mapped_column(Text)  # the sentence an admin reads
    message_id: Mapped[str | None] = mapped_column(Text)  # the Message-ID header
    sender: Mapped[str | None] = mapped_column(Text)  # the From address, lower-cased
    subject: Mapped[str | None] = mapped_column(Text)
    principal_id: Mapped[uuid.UUID | None] = mapped_column(ForeignKey("principals.id"))
    conversation_message_id: Mapped[uuid.UUID | None] = mapped_column(ForeignKey("messages.id"))
    # Parsed facts, the files accepted and refused, the authentication verdict.
    facts: Mapped[dict[str, Any]] = mapped_column(JSONB, default=dict)
    processed_at: Mapped[datetime | None] = mapped_column(DateTime(timezone=True))
    # The receipt we send for a document forward: pending | sent | failed (None: no receipt due).
    receipt_status: Mapped[str | None] = mapped_column(Text)
    receipt_message_id: Mapped[str | None] = mapped_column(Text)
    receipt_attempts: Mapped[int] = mapped_column(default=0)
