"""The Audit pages: search with filters and pages, one event with its place in the chain and its proof,
export (links to the streaming export API with the same filters), and chain verification."""

from __future__ import annotations

from fastapi import APIRouter, Depends, Path, Query, Request
from fastapi.responses import HTMLResponse
from starlette.concurrency import run_in_threadpool

from app.console import audit_views, verification
from app.console.access import Access, Permission, require
from app.console.api import MAX_SEQ
from app.console.filters import AuditQuery, audit_filter
from app.console.rendering import render
from audit import events

router = APIRouter(include_in_schema=False)
PER_PAGE = 50
EVENT_TYPES = sorted(value for name, value in vars(events).items() if name.isupper() and "." in str(value))
CHANNELS = ("slack", "email", "api", "cli", "console")


@router.get("/audit", response_class=HTMLResponse)
async def search(
    request: Request,
    asked: AuditQuery = Depends(audit_filter),
    before: int | None = Query(None, ge=1, le=MAX_SEQ),
    access: Access = Depends(require(Permission.AUDIT_READ, page=True)),
) -> HTMLResponse:
    result = await run_in_threadpool(audit_views.search, access, asked=asked, before=before, limit=PER_PAGE)
    return render(
        request,
        "audit.html",
        access=access,
        result=result,
        form=asked.form,
        query={k: v for k, v in asked.form.items() if v},
        before=before,
        event_types=EVENT_TYPES,
        channels=CHANNELS,
        export_csv=asked.export_query("csv"),
        export_jsonl=asked.export_query("jsonl"),
    )


@router.get("/audit/events/{seq}", response_class=HTMLResponse)
async def event(
    request: Request,
    seq: int = Path(ge=1, le=MAX_SEQ),
    access: Access = Depends(require(Permission.AUDIT_READ, page=True)),
) -> HTMLResponse:
    detail = await run_in_threadpool(audit_views.event_detail, access, seq=seq)
    return render(request, "audit_event.html", access=access, d=detail)


@router.post("/audit/verify", response_class=HTMLResponse)
async def verify(
    request: Request, access: Access = Depends(require(Permission.AUDIT_READ, page=True))
) -> HTMLResponse:
    outcome = await run_in_threadpool(verification.verify, access)
    return render(request, "audit_verify.html", access=access, v=outcome)
