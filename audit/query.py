"""Compliance queries over the chain: filters (time range, actor, channel, event types, correlation id,
text), keyset pagination on `seq` (stable: events are only ever added after the head), and streaming
export as JSON lines or CSV. Events still in the intake have no place in the chain yet and are not
returned; every answer says how many there are. Callers record each query as an audit event."""

from __future__ import annotations

import csv
import io
import json
from collections.abc import Iterator
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any, Literal

from sqlalchemy import Select, or_, select
from sqlalchemy.orm import Session

from app.core.errors import InvalidInput
from audit.models import AuditEvent, AuditPayload
from audit.verify import chain_head, pending_count

ExportFormat = Literal["jsonl", "csv"]
CSV_COLUMNS = (
    "seq",
    "ts",
    "event_type",
    "actor",
    "channel",
    "subject",
    "correlation_id",
    "payload",
    "payload_sha256",
    "hash",
)


@dataclass(frozen=True)
class EventFilter:
    since: datetime | None = None  # inclusive
    until: datetime | None = None  # exclusive
    actor: str | None = None
    channel: str | None = None
    event_types: tuple[str, ...] = ()
    correlation_id: str | None = None
    text: str | None = None  # case-insensitive substring of the payload, actor or subject

    def __post_init__(self) -> None:
        for name, shown in (("since", "from"), ("until", "to")):
            value = getattr(self, name)
            if value is not None and value.tzinfo is None:
                raise InvalidInput(f"{shown} needs a time zone (e.g. 2026-12-01T00:00:00Z)")
        if self.since and self.until and self.since >= self.until:
            raise InvalidInput("the time range is empty: `from` must be before `to`")
        if self.text is not None and not self.text.strip():
            raise InvalidInput("the text filter is empty")

    def describe(self) -> dict[str, Any]:
        """The filter as recorded in the audit event of the query."""
        return {
            "from": self.since.isoformat() if self.since else None,
            "to": self.until.isoformat() if self.until else None,
            "actor": self.actor,
            "channel": self.channel,
            "event_types": list(self.event_types),
            "correlation_id": self.correlation_id,
            "text": self.text,
        }


@dataclass(frozen=True)
class EventRecord:
    seq: int
    ts: datetime
    event_type: str
    actor: str
    channel: str | None
    subject: str | None
    correlation_id: str | None
    payload: str | None  # canonical JSON; None once purged
    payload_sha256: str
    hash: str

    def as_dict(self) -> dict[str, Any]:
        return {
            "seq": self.seq,
            "ts": self.ts.isoformat(),
            "event_type": self.event_type,
            "actor": self.actor,
            "channel": self.channel,
            "subject": self.subject,
            "correlation_id": self.correlation_id,
            "payload": json.loads(self.payload) if self.payload is not None else None,
            "payload_purged": self.payload is None,
            "payload_sha256": self.payload_sha256,
            "hash": self.hash,
        }


@dataclass(frozen=True)
class Page:
    events: list[EventRecord]
    next_after: int | None  # pass as `after` for the next page; None at the end
    head_seq: int
    pending: int = field(default=0)


def _escape_like(value: str) -> str:
    return value.replace("\\", "\\\\").replace("%", "\\%").replace("_", "\\_")


def _select(filters: EventFilter, *columns: Any) -> Select[Any]:
    statement = select(*(columns or (AuditEvent, AuditPayload.body))).outerjoin(
        AuditPayload, AuditPayload.event_id == AuditEvent.id
    )
    if filters.since is not None:
        statement = statement.where(AuditEvent.ts >= filters.since)
    if filters.until is not None:
        statement = statement.where(AuditEvent.ts < filters.until)
    if filters.actor is not None:
        statement = statement.where(AuditEvent.actor == filters.actor)
    if filters.channel is not None:
        statement = statement.where(AuditEvent.channel == filters.channel)
    if filters.event_types:
        statement = statement.where(AuditEvent.event_type.in_(filters.event_types))
    if filters.correlation_id is not None:
        statement = statement.where(AuditEvent.correlation_id == filters.correlation_id)
    if filters.text is not None:
        pattern = f"%{_escape_like(filters.text)}%"
        statement = statement.where(
            or_(
                AuditPayload.body.ilike(pattern, escape="\\"),
                AuditEvent.actor.ilike(pattern, escape="\\"),
                AuditEvent.subject.ilike(pattern, escape="\\"),
            )
        )
    return statement


def _record(event: AuditEvent, body: str | None) -> EventRecord:
    return EventRecord(
        seq=event.seq,
        ts=event.ts,
        event_type=event.event_type,
        actor=event.actor,
        channel=event.channel,
        subject=event.subject,
        correlation_id=event.correlation_id,
        payload=body,
        payload_sha256=event.payload_digest.hex(),
        hash=event.hash.hex(),
    )


def find(
    session: Session,
    *,
    filters: EventFilter,
    limit: int,
    after: int | None = None,
    through_seq: int | None = None,
    descending: bool = False,
) -> Page:
    """One page of matching events in `seq` order (after `after`, or before it when descending)."""
    if limit < 1:
        raise InvalidInput("limit must be at least 1")
    head = chain_head(session)
    statement = _select(filters)
    if through_seq is not None:
        statement = statement.where(AuditEvent.seq <= through_seq)
    if after is not None:
        statement = statement.where(AuditEvent.seq < after if descending else AuditEvent.seq > after)
    order = AuditEvent.seq.desc() if descending else AuditEvent.seq
    rows = session.execute(statement.order_by(order).limit(limit + 1)).all()
    records = [_record(event, body) for event, body in rows[:limit]]
    more = len(rows) > limit
    return Page(
        events=records,
        next_after=records[-1].seq if more and records else None,
        head_seq=head,
        pending=pending_count(session),
    )


def matching_seqs(session: Session, *, filters: EventFilter, through_seq: int) -> list[int]:
    statement = _select(filters, AuditEvent.seq).where(AuditEvent.seq <= through_seq)
    return list(session.scalars(statement.order_by(AuditEvent.seq)))


def stream(
    session: Session, *, filters: EventFilter, through_seq: int, page: int = 1000
) -> Iterator[EventRecord]:
    """Every matching event up to `through_seq`, in pages (one short query each)."""
    after: int | None = None
    while True:
        result = find(session, filters=filters, limit=page, after=after, through_seq=through_seq)
        yield from result.events
        if result.next_after is None:
            return
        after = result.next_after


def render(records: Iterator[EventRecord], fmt: ExportFormat) -> Iterator[str]:
    """Lines of an export: JSON objects one per line, or CSV with a header."""
    if fmt == "jsonl":
        for record in records:
            yield json.dumps(record.as_dict(), ensure_ascii=False) + "\n"
        return
    buffer = io.StringIO()
    writer = csv.writer(buffer)
    writer.writerow(CSV_COLUMNS)
    for record in records:
        row = record.as_dict()
        writer.writerow([record.payload if column == "payload" else row[column] for column in CSV_COLUMNS])
        yield buffer.getvalue()
        buffer.seek(0)
        buffer.truncate()
    yield buffer.getvalue()
