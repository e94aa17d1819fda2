"""Failed tasks (dead letters) in the console and its JSON API: list them, replay one. Admins only: a
failed task's arguments and traceback are operational detail, and a replay runs work again."""

from __future__ import annotations

import uuid

from fastapi import APIRouter, Depends, Query, Request
from fastapi.responses import HTMLResponse, RedirectResponse
from starlette.concurrency import run_in_threadpool

from app.console.access import Access, Permission, require
from app.console.rendering import render
from app.core.db import session_scope
from app.core.settings import get_settings
from app.domains.jobs import service as jobs
from app.domains.jobs.schemas import FailedTaskOut
from workers import outbox

outbox.install()  # a replay is sent once its transaction has committed

router = APIRouter()
Status = Query("failed", pattern="^(failed|replayed|all)$")


def _list(status: str, limit: int) -> list[FailedTaskOut]:
    with session_scope() as session:
        return jobs.list_failed(session, status=None if status == "all" else status, limit=limit)


def _replay(access: Access, failed_task_id: uuid.UUID) -> FailedTaskOut:
    with session_scope() as session:
        return jobs.replay(
            session,
            failed_id=failed_task_id,
            principal_id=access.caller.principal_id,
            expires_s=get_settings().limits.answer_task_expires_s,
        )


@router.get("/api/v1/jobs/failed", response_model=list[FailedTaskOut], tags=["jobs"])
async def failed_api(
    status: str = Status,
    limit: int = Query(100, ge=1, le=1000),
    access: Access = Depends(require(Permission.JOBS_REPLAY)),
) -> list[FailedTaskOut]:
    """Tasks that failed for good, newest first, with their arguments, error and traceback."""
    return await run_in_threadpool(_list, status, limit)


@router.post("/api/v1/jobs/failed/{failed_task_id}/replay", response_model=FailedTaskOut, tags=["jobs"])
async def replay_api(
    failed_task_id: uuid.UUID, access: Access = Depends(require(Permission.JOBS_REPLAY))
) -> FailedTaskOut:
    """Send the task again with its original arguments (audited); 409 if a replay is already pending."""
    return await run_in_threadpool(_replay, access, failed_task_id)


@router.get("/jobs", response_class=HTMLResponse, include_in_schema=False)
async def failed_page(
    request: Request,
    status: str = Status,
    done: str | None = Query(None, max_length=40),
    access: Access = Depends(require(Permission.JOBS_REPLAY, page=True)),
) -> HTMLResponse:
    rows = await run_in_threadpool(_list, status, 200)
    return render(request, "jobs.html", access=access, rows=rows, status=status, done=done)


@router.post("/jobs/{failed_task_id}/replay", include_in_schema=False)
async def replay_page(
    failed_task_id: uuid.UUID, access: Access = Depends(require(Permission.JOBS_REPLAY, page=True))
) -> RedirectResponse:
    await run_in_threadpool(_replay, access, failed_task_id)
    return RedirectResponse("/jobs?done=replayed", status_code=303)
