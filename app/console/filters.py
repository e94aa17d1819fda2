"""Query parameters shared by pages and their JSON endpoints: Conversations, and the Audit page."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import UTC, date, datetime
from typing import Literal
from urllib.parse import urlencode

from fastapi import Query

from app.core.errors import InvalidInput
from app.domains.conversations.browse import ConversationFilter, Outcome, Rating
from audit.query import EventFilter


def conversation_filter(
    *,
    q: str | None = Query(None, max_length=200, description="Words in the question or the answer."),
    channel: str | None = Query(None, max_length=50),
    outcome: Outcome | Literal[""] | None = None,
    asker: str | None = Query(None, max_length=200, description="Part of the asker's handle."),
    rating: Rating | Literal[""] | None = Query(
        None, description="Answers rated 👍 (up), 👎 (down), or not rated (none)."
    ),
    since: date | Literal[""] | None = None,
    until: date | Literal[""] | None = None,
) -> ConversationFilter:
    for name, value in (("q", q), ("channel", channel), ("asker", asker)):
        if value and "\x00" in value:
            raise InvalidInput(f"{name} contains a NUL character")
    # An empty form field means "any", not "the empty string".
    return ConversationFilter(
        q=q or None,
        channel=channel or None,
        outcome=outcome or None,
        asker=asker or None,
        rating=rating or None,
        since=since or None,
        until=until or None,
    )


def _moment(value: str | None, name: str) -> datetime | None:
    """A time from a form's datetime-local field (read as UTC) or an ISO time with its zone."""
    if not value:
        return None
    try:
        moment = datetime.fromisoformat(value)
    except ValueError as exc:
        raise InvalidInput(f"{name} is not a time (use 2026-12-01T09:30)") from exc
    return moment if moment.tzinfo else moment.replace(tzinfo=UTC)


@dataclass(frozen=True)
class AuditQuery:
    """The Audit page's filters as typed in the form; `to_filter` makes the query (or says what is wrong
    with them: the caller audits the rejection)."""

    form: dict[str, str]

    def to_filter(self) -> EventFilter:
        f = self.form
        return EventFilter(
            since=_moment(f["from"], "from"),
            until=_moment(f["to"], "to"),
            actor=f["actor"] or None,
            channel=f["channel"] or None,
            event_types=(f["event_type"],) if f["event_type"] else (),
            correlation_id=f["correlation_id"] or None,
            text=f["q"] if f["q"].strip() else None,
        )

    def export_query(self, fmt: str) -> str:
        """The same filters as query parameters of the streaming export API."""
        f = self.to_filter()
        params = {
            "from": f.since.isoformat() if f.since else None,
            "to": f.until.isoformat() if f.until else None,
            "actor": f.actor,
            "channel": f.channel,
            "event_type": f.event_types[0] if f.event_types else None,
            "correlation_id": f.correlation_id,
            "q": f.text,
            "format": fmt,
        }
        return urlencode({k: v for k, v in params.items() if v})


def audit_filter(
    *,
    since: str | None = Query(None, alias="from", max_length=40, description="Inclusive; UTC unless zoned."),
    until: str | None = Query(None, alias="to", max_length=40, description="Exclusive; UTC unless zoned."),
    actor: str | None = Query(None, max_length=200, description="`principal:<id>` or `system`."),
    channel: str | None = Query(None, max_length=50),
    event_type: str | None = Query(None, max_length=100),
    correlation_id: str | None = Query(None, max_length=200),
    q: str | None = Query(None, max_length=200, description="Text in payload, actor or subject."),
) -> AuditQuery:
    form = {
        "from": since or "",
        "to": until or "",
        "actor": actor or "",
        "channel": channel or "",
        "event_type": event_type or "",
        "correlation_id": correlation_id or "",
        "q": q or "",
    }
    for name, value in form.items():
        if "\x00" in value:
            raise InvalidInput(f"{name} contains a NUL character")
    return AuditQuery(form=form)
