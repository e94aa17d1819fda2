"""The audit schema. The application only reads these tables and writes through the schema's functions
(migrations/versions/20261201_audit_store.py); changes and removals are refused even for the owner."""

from __future__ import annotations

import uuid
from datetime import datetime
from typing import Any

from sqlalchemy import (
    JSON,
    BigInteger,
    CheckConstraint,
    DateTime,
    ForeignKey,
    Identity,
    Index,
    Integer,
    LargeBinary,
    Text,
    Uuid,
    cast,
    select,
)
from sqlalchemy.orm import Mapped, column_property, mapped_column

from app.core.db import Base

SCHEMA = "audit"


class AuditPayload(Base):
    """An event's payload as canonical JSON text, apart from the chain: it can be purged when its
    retention ends while the chain, which covers only its digest, stays verifiable."""

    __tablename__ = "payloads"
    __table_args__ = ({"schema": SCHEMA},)

    event_id: Mapped[int] = mapped_column(BigInteger, primary_key=True, autoincrement=False)
    body: Mapped[str] = mapped_column(Text)


class _Header:
    ts: Mapped[datetime] = mapped_column(DateTime(timezone=True))
    event_type: Mapped[str] = mapped_column(Text)
    actor: Mapped[str] = mapped_column(Text)
    channel: Mapped[str | None] = mapped_column(Text)
    subject: Mapped[str | None] = mapped_column(Text)
    correlation_id: Mapped[str | None] = mapped_column(Text)
    payload_digest: Mapped[bytes] = mapped_column(LargeBinary)
    event_digest: Mapped[bytes] = mapped_column(LargeBinary)


class AuditIntake(_Header, Base):
    """Events committed with their action and not yet sealed into the chain."""

    __tablename__ = "intake"
    __table_args__ = ({"schema": SCHEMA},)

    id: Mapped[int] = mapped_column(BigInteger, Identity(always=False), primary_key=True)


class AuditEvent(_Header, Base):
    """An event in the chain: `seq` is its gapless place, `hash` covers it and every event before it."""

    __tablename__ = "events"
    __table_args__ = (
        Index("ix_audit_events_ts", "ts"),
        Index("ix_audit_events_correlation_id", "correlation_id"),
        Index("ix_audit_events_event_type", "event_type"),
        Index("ix_audit_events_actor", "actor"),
        {"schema": SCHEMA},
    )

    seq: Mapped[int] = mapped_column(BigInteger, primary_key=True, autoincrement=False)
    id: Mapped[int] = mapped_column(BigInteger, unique=True)  # the intake id it was appended with
    prev_hash: Mapped[bytes] = mapped_column(LargeBinary)
    hash: Mapped[bytes] = mapped_column(LargeBinary)
    # The payload as a value (None once purged); read-only.
    payload: Mapped[dict[str, Any] | None] = column_property(
        select(cast(AuditPayload.body, JSON))
        .where(AuditPayload.event_id == id)
        .correlate_except(AuditPayload)
        .scalar_subquery()
    )


class Checkpoint(Base):
    """A signed checkpoint as recorded in the database (the signed copy of record is in the write-once
    store; verification reads that one)."""

    __tablename__ = "checkpoints"
    __table_args__ = ({"schema": SCHEMA},)

    tree_size: Mapped[int] = mapped_column(BigInteger, primary_key=True, autoincrement=False)
    root_hash: Mapped[bytes] = mapped_column(LargeBinary)
    head_hash: Mapped[bytes] = mapped_column(LargeBinary)
    key_id: Mapped[str] = mapped_column(Text)
    statement: Mapped[str] = mapped_column(Text)
    signature: Mapped[bytes] = mapped_column(LargeBinary)
    frontier: Mapped[bytes] = mapped_column(LargeBinary)  # compact Merkle range, 32-byte nodes
    created_at: Mapped[datetime] = mapped_column(DateTime(timezone=True))


class RetentionPolicy(Base):
    __tablename__ = "retention_policies"
    __table_args__ = (CheckConstraint("retain_days > 0", name="positive_days"), {"schema": SCHEMA})

    event_type: Mapped[str] = mapped_column(Text, primary_key=True)
    retain_days: Mapped[int] = mapped_column(Integer)
    set_by: Mapped[str] = mapped_column(Text)
    set_at: Mapped[datetime] = mapped_column(DateTime(timezone=True))


class LegalHold(Base):
    """Events matching every criterion given keep their payloads until the hold is released."""

    __tablename__ = "legal_holds"
    __table_args__ = (
        CheckConstraint("num_nonnulls(event_type, actor, correlation_id, subject) > 0", name="has_scope"),
        {"schema": SCHEMA},
    )

    id: Mapped[uuid.UUID] = mapped_column(Uuid, primary_key=True, default=uuid.uuid4)
    event_type: Mapped[str | None] = mapped_column(Text)
    actor: Mapped[str | None] = mapped_column(Text)
    correlation_id: Mapped[str | None] = mapped_column(Text)
    subject: Mapped[str | None] = mapped_column(Text)
    reason: Mapped[str] = mapped_column(Text)
    placed_by: Mapped[str] = mapped_column(Text)
    placed_at: Mapped[datetime] = mapped_column(DateTime(timezone=True))
    released_by: Mapped[str | None] = mapped_column(Text)
    released_at: Mapped[datetime | None] = mapped_column(DateTime(timezone=True))


class PurgeRequest(Base):
    __tablename__ = "purge_requests"
    __table_args__ = ({"schema": SCHEMA},)

    id: Mapped[uuid.UUID] = mapped_column(Uuid, primary_key=True, default=uuid.uuid4)
    event_type: Mapped[str] = mapped_column(Text)
    cutoff: Mapped[datetime] = mapped_column(DateTime(timezone=True))  # payloads of events before it
    through_seq: Mapped[int] = mapped_column(BigInteger)  # the chain head when it was requested
    requested_by: Mapped[str] = mapped_column(Text)
    requested_at: Mapped[datetime] = mapped_column(DateTime(timezone=True))
    executed_at: Mapped[datetime | None] = mapped_column(DateTime(timezone=True))
    purged_count: Mapped[int | None] = mapped_column(BigInteger)
    held_count: Mapped[int | None] = mapped_column(BigInteger)


class PurgeApproval(Base):
    __tablename__ = "purge_approvals"
    __table_args__ = ({"schema": SCHEMA},)

    request_id: Mapped[uuid.UUID] = mapped_column(ForeignKey(f"{SCHEMA}.purge_requests.id"), primary_key=True)
    approver: Mapped[str] = mapped_column(Text, primary_key=True)
    approved_at: Mapped[datetime] = mapped_column(DateTime(timezone=True))
