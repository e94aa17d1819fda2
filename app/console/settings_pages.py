"""The Retention and legal holds page and the history (diff, rollback) of any settings section. Forms
post with the session's CSRF token and redirect back."""

from __future__ import annotations

import uuid
from urllib.parse import quote

from fastapi import APIRouter, Depends, Form, Path, Query, Request
from fastapi.responses import HTMLResponse, RedirectResponse
from starlette.concurrency import run_in_threadpool

from app.console import settings_views
from app.console.access import Access, Permission, require
from app.console.rendering import render
from app.console.settings_api import MAX_VERSION

router = APIRouter(include_in_schema=False)
READ = require(Permission.SETTINGS_READ, page=True)
CHANGE = require(Permission.SETTINGS_CHANGE, page=True)
RETENTION_PAGE = "/settings/retention"


def _back(done: str, path: str = RETENTION_PAGE) -> RedirectResponse:
    return RedirectResponse(f"{path}?done={quote(done)}", status_code=303)


@router.get(RETENTION_PAGE, response_class=HTMLResponse)
async def retention_page(
    request: Request, done: str | None = Query(None, max_length=80), access: Access = Depends(READ)
) -> HTMLResponse:
    page = await run_in_threadpool(settings_views.retention_page, access)
    return render(request, "retention.html", access=access, page=page, done=done)


@router.post(RETENTION_PAGE)
async def set_period(
    event_type: str = Form(..., max_length=100),
    days: int = Form(...),
    reason: str | None = Form(None, max_length=500),
    version: int | None = Form(None),
    access: Access = Depends(CHANGE),
) -> RedirectResponse:
    await run_in_threadpool(
        settings_views.set_period,
        access,
        event_type=event_type,
        days=days,
        reason=reason,
        expected_version=version,
    )
    return _back("Retention period saved.")


@router.post(f"{RETENTION_PAGE}/holds")
async def place_hold(
    *,
    reason: str = Form(..., max_length=500),
    event_type: str | None = Form(None, max_length=100),
    actor: str | None = Form(None, max_length=200),
    correlation_id: str | None = Form(None, max_length=200),
    subject: str | None = Form(None, max_length=200),
    access: Access = Depends(CHANGE),
) -> RedirectResponse:
    scope = {"event_type": event_type, "actor": actor, "correlation_id": correlation_id, "subject": subject}
    await run_in_threadpool(settings_views.place_hold, access, reason=reason, scope=scope)
    return _back("Legal hold placed.")


@router.post(f"{RETENTION_PAGE}/holds/{{hold_id}}/release")
async def release_hold(hold_id: uuid.UUID, access: Access = Depends(CHANGE)) -> RedirectResponse:
    await run_in_threadpool(settings_views.release_hold, access, hold_id=hold_id)
    return _back("Legal hold released.")


@router.post(f"{RETENTION_PAGE}/purges")
async def request_purge(
    event_type: str = Form(..., max_length=100), access: Access = Depends(CHANGE)
) -> RedirectResponse:
    await run_in_threadpool(settings_views.request_purge, access, event_type=event_type)
    return _back("Purge requested: a second admin must approve it.")


@router.post(f"{RETENTION_PAGE}/purges/{{request_id}}/approve")
async def approve_purge(request_id: uuid.UUID, access: Access = Depends(CHANGE)) -> RedirectResponse:
    executed, purged, held = await run_in_threadpool(
        settings_views.approve_purge, access, request_id=request_id
    )
    if not executed:
        return _back("Purge approved; it needs one more approver.")
    return _back(f"Purge carried out: {purged} payloads purged, {held} kept under legal holds.")


@router.get("/settings/{key}/history", response_class=HTMLResponse)
async def history(
    *,
    request: Request,
    key: str,
    compare: int | None = Query(None, ge=0, le=MAX_VERSION, description="Show changes since this version."),
    to: int | None = Query(None, ge=0, le=MAX_VERSION),
    done: str | None = Query(None, max_length=80),
    access: Access = Depends(READ),
) -> HTMLResponse:
    current = await run_in_threadpool(settings_views.current, access, key=key)
    versions = await run_in_threadpool(settings_views.versions, access, key=key)
    diff = None
    if compare is not None:
        diff = await run_in_threadpool(
            settings_views.diff,
            access,
            key=key,
            from_version=compare,
            to_version=to if to is not None else current.version,
        )
    return render(
        request,
        "settings_history.html",
        access=access,
        current=current,
        versions=versions,
        diff=diff,
        done=done,
    )


@router.post("/settings/{key}/versions/{version}/rollback")
async def rollback(
    key: str,
    version: int = Path(ge=1, le=MAX_VERSION),
    reason: str | None = Form(None, max_length=500),
    access: Access = Depends(CHANGE),
) -> RedirectResponse:
    restored = await run_in_threadpool(
        settings_views.rollback, access, key=key, to_version=version, reason=reason
    )
    return _back(
        f"Rolled back to version {version} (now version {restored.version}).", f"/settings/{key}/history"
    )
