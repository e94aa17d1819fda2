"""The compliance API under /api/v1/audit: query and export the audit trail.

Authorised through the console's permission model, so a bearer token and a console session get the
same answer: events and payloads need `compliance` (or the `audit_payloads` grant; an admin without it
gets 403, audited), export needs `compliance`, and `status` (chain head, chaining lag, latest checkpoint,
no payloads) is also open to admins. Every query and export is itself an audit event, written in the
same transaction as the read; rejected queries are audited too."""

from __future__ import annotations

from collections.abc import Iterator
from datetime import datetime
from typing import Annotated, Any, Literal

from fastapi import APIRouter, Depends, Query
from fastapi.responses import StreamingResponse
from pydantic import BaseModel, Field
from starlette.concurrency import iterate_in_threadpool, run_in_threadpool

from app.api.auth import Caller
from app.console.access import Access, Permission, require
from app.core.db import engine, session_scope
from app.core.errors import AppError, InvalidInput
from app.core.settings import get_settings
from app.domains.principals import service as principals
from audit import events, group_commit, query
from audit import store as audit_store
from audit.checkpointing import latest
from audit.verify import chain_head, pending_count

router = APIRouter(prefix="/api/v1/audit", tags=["audit"])

READ_EVENTS = require(Permission.AUDIT_READ_PAYLOADS)
EXPORT = require(Permission.AUDIT_EXPORT)
READ_STATUS = require(Permission.AUDIT_READ)


class EventOut(BaseModel):
    seq: int = Field(description="Gapless position in the chain; the pagination key.")
    ts: datetime = Field(description="When the event was recorded (UTC).")
    event_type: str
    actor: str = Field(description="`principal:<id>` or `system`.")
    channel: str | None
    subject: str | None = Field(description="What the event is about, e.g. `message:<id>`.")
    correlation_id: str | None = Field(description="Ties a question, its answer, delivery and feedback.")
    payload: dict[str, Any] | None = Field(description="None once purged after its retention.")
    payload_purged: bool
    payload_sha256: str = Field(description="Digest the chain covers (kept after a purge).")
    hash: str = Field(description="Chain hash of this event (an RFC 6962 leaf hash).")


class EventPage(BaseModel):
    events: list[EventOut]
    next_after: int | None = Field(description="Pass as `after` for the next page; null at the end.")
    head_seq: int = Field(description="The chain's last seq when the page was read.")
    pending: int = Field(description="Committed events not yet placed in the chain (not returned yet).")


class CheckpointOut(BaseModel):
    tree_size: int
    created_at: datetime
    key_id: str
    root_hash: str


class AuditStatus(BaseModel):
    head_seq: int
    pending: int
    latest_checkpoint: CheckpointOut | None


def _filters(
    *,
    since: Annotated[datetime | None, Query(alias="from", description="Inclusive, with a time zone.")] = None,
    until: Annotated[datetime | None, Query(alias="to", description="Exclusive, with a time zone.")] = None,
    actor: Annotated[str | None, Query(description="`principal:<id>` or `system`.")] = None,
    channel: Annotated[str | None, Query(description="slack, email, api, cli, …")] = None,
    event_type: Annotated[list[str] | None, Query(description="Repeatable.")] = None,
    correlation_id: Annotated[str | None, Query()] = None,
    q: Annotated[str | None, Query(description="Case-insensitive text in payload, actor or subject.")] = None,
) -> dict[str, Any]:
    return {
        "since": since,
        "until": until,
        "actor": actor,
        "channel": channel,
        "event_types": tuple(event_type or ()),
        "correlation_id": correlation_id,
        "text": q,
    }


def _build(raw: dict[str, Any], caller: Caller, what: str) -> query.EventFilter:
    try:
        return query.EventFilter(**raw)
    except AppError as exc:
        _reject(caller, what, exc.message, raw)
        raise


def _reject(caller: Caller, what: str, reason: str, raw: dict[str, Any]) -> None:
    group_commit.record(
        engine(),
        event_type=events.AUDIT_QUERY_REJECTED,
        actor=principals.actor(caller.principal_id),
        channel="api",
        payload={"what": what, "reason": reason, "filters": {k: str(v) for k, v in raw.items()}},
    )


@router.get(
    "/events", response_model=EventPage, summary="Query audit events (compliance or the audit_payloads grant)"
)
async def list_events(
    raw: dict[str, Any] = Depends(_filters),
    limit: Annotated[int, Query(ge=1, description="Page size (at most PLINTH_AUDIT_PAGE_SIZE_MAX).")] = 100,
    after: Annotated[int | None, Query(ge=0, description="Continue after this seq (`next_after`).")] = None,
    order: Annotated[
        Literal["asc", "desc"], Query(description="By seq; with desc, `after` = before.")
    ] = "asc",
    access: Access = Depends(READ_EVENTS),
) -> EventPage:
    caller = access.caller

    def run() -> EventPage:
        filters = _build(raw, caller, "GET /api/v1/audit/events")
        maximum = get_settings().audit.page_size_max
        if limit > maximum:
            _reject(caller, "GET /api/v1/audit/events", f"limit above {maximum}", raw)
            raise InvalidInput(f"limit is at most {maximum}")
        with session_scope() as session:
            page = query.find(session, filters=filters, limit=limit, after=after, descending=order == "desc")
            audit_store.append(
                session,
                event_type=events.AUDIT_QUERIED,
                actor=principals.actor(caller.principal_id),
                channel="api",
                payload={
                    "filters": filters.describe(),
                    "after": after,
                    "order": order,
                    "limit": limit,
                    "returned": len(page.events),
                    "seqs": [page.events[0].seq, page.events[-1].seq] if page.events else None,
                },
            )
        return EventPage(
            events=[EventOut(**e.as_dict()) for e in page.events],
            next_after=page.next_after,
            head_seq=page.head_seq,
            pending=page.pending,
        )

    return await run_in_threadpool(run)


@router.get(
    "/export",
    summary="Stream matching events as JSON lines or CSV (compliance role)",
    response_class=StreamingResponse,
    responses={200: {"content": {"application/x-ndjson": {}, "text/csv": {}}}},
)
async def export_events(
    raw: dict[str, Any] = Depends(_filters),
    fmt: Annotated[Literal["jsonl", "csv"], Query(alias="format")] = "jsonl",
    access: Access = Depends(EXPORT),
) -> StreamingResponse:
    caller = access.caller

    def start() -> tuple[query.EventFilter, int]:
        filters = _build(raw, caller, "GET /api/v1/audit/export")
        with session_scope() as session:
            through = chain_head(session)
            # Committed (durably) before the first byte: an export is never unaudited.
            audit_store.append(
                session,
                event_type=events.AUDIT_EXPORTED,
                actor=principals.actor(caller.principal_id),
                channel="api",
                payload={"filters": filters.describe(), "format": fmt, "through_seq": through},
            )
        return filters, through

    filters, through = await run_in_threadpool(start)

    def lines() -> Iterator[str]:
        with session_scope() as session:
            yield from query.render(query.stream(session, filters=filters, through_seq=through), fmt)

    media = "application/x-ndjson" if fmt == "jsonl" else "text/csv"
    return StreamingResponse(
        iterate_in_threadpool(lines()),
        media_type=media,
        headers={
            "X-Plinth-Audit-Through-Seq": str(through),
            "Content-Disposition": f'attachment; filename="audit-through-{through}.{fmt}"',
        },
    )


@router.get("/status", response_model=AuditStatus, summary="Chain head, chaining lag, last checkpoint")
async def audit_status(_: Access = Depends(READ_STATUS)) -> AuditStatus:
    def read() -> AuditStatus:
        with session_scope() as session:
            last = latest(session)
            return AuditStatus(
                head_seq=chain_head(session),
                pending=pending_count(session),
                latest_checkpoint=CheckpointOut(
                    tree_size=last.tree_size,
                    created_at=last.created_at,
                    key_id=last.key_id,
                    root_hash=last.root_hash.hex(),
                )
                if last
                else None,
            )

    return await run_in_threadpool(read)
