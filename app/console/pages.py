"""The console's pages. Reads and changes go through `views`, exactly as the JSON API's do; forms post
with the session's CSRF token and redirect back (so they work without JavaScript)."""

from __future__ import annotations

import uuid
from typing import Any

from fastapi import APIRouter, Depends, Form, Query, Request
from fastapi.responses import HTMLResponse, RedirectResponse
from starlette.concurrency import run_in_threadpool

from app.console import views
from app.console.access import Access, Permission, require
from app.console.filters import conversation_filter
from app.console.rendering import render
from app.domains.conversations.browse import ConversationFilter
from app.domains.principals.service import ROLES

router = APIRouter(include_in_schema=False)
PER_PAGE = 25


@router.get("/", response_class=HTMLResponse)
async def dashboard(
    request: Request,
    days: int = Query(30, ge=1, le=366),
    access: Access = Depends(require(Permission.DASHBOARD_READ, page=True)),
) -> HTMLResponse:
    figures = await run_in_threadpool(views.dashboard, access, days=days)
    return render(
        request,
        "dashboard.html",
        access=access,
        figures=figures,
        days=days,
        chart_data=figures.model_dump(mode="json"),
    )


@router.get("/conversations", response_class=HTMLResponse)
async def conversations(
    request: Request,
    filters: ConversationFilter = Depends(conversation_filter),
    page: int = Query(1, ge=1, le=100_000),
    access: Access = Depends(require(None, page=True)),
) -> HTMLResponse:
    result = await run_in_threadpool(
        views.conversations_page, access, filters=filters, page=page, per_page=PER_PAGE
    )
    query = {k: v for k, v in filters.model_dump(mode="json").items() if v}
    context: dict[str, Any] = {
        "result": result,
        "filters": filters,
        "query": query,
        "channels": await run_in_threadpool(views.channels),
        "pages": max(1, -(-result.total // PER_PAGE)),
    }
    # htmx asks for the results alone when a filter changes.
    template = "conversations_table.html" if request.headers.get("hx-request") else "conversations.html"
    return render(request, template, access=access, **context)


@router.get("/conversations/{message_id}", response_class=HTMLResponse)
async def conversation(
    request: Request, message_id: uuid.UUID, access: Access = Depends(require(None, page=True))
) -> HTMLResponse:
    found = await run_in_threadpool(views.conversation, access, message_id=message_id)
    return render(request, "conversation.html", access=access, c=found)


@router.get("/corrections", response_class=HTMLResponse)
async def corrections(
    request: Request,
    status: str = Query("pending", pattern="^(pending|approved|rejected|all)$"),
    done: str | None = Query(None, max_length=40),
    access: Access = Depends(require(Permission.CORRECTIONS_READ, page=True)),
) -> HTMLResponse:
    rows = await run_in_threadpool(views.corrections_list, access, status=None if status == "all" else status)
    return render(request, "corrections.html", access=access, rows=rows, status=status, done=done)


@router.post("/corrections/{correction_id}/approve")
async def approve(
    correction_id: uuid.UUID,
    text: str = Form(""),
    note: str = Form("", max_length=2000),
    access: Access = Depends(require(Permission.CORRECTIONS_REVIEW, page=True)),
) -> RedirectResponse:
    await run_in_threadpool(
        views.review, access, correction_id=correction_id, decision="approve", text=text, note=note
    )
    return RedirectResponse("/corrections?done=approved", status_code=303)


@router.post("/corrections/{correction_id}/reject")
async def reject(
    correction_id: uuid.UUID,
    note: str = Form("", max_length=2000),
    access: Access = Depends(require(Permission.CORRECTIONS_REVIEW, page=True)),
) -> RedirectResponse:
    await run_in_threadpool(
        views.review, access, correction_id=correction_id, decision="reject", text=None, note=note
    )
    return RedirectResponse("/corrections?done=rejected", status_code=303)


@router.get("/escalations", response_class=HTMLResponse)
async def escalations(
    request: Request,
    done: str | None = Query(None, max_length=40),
    access: Access = Depends(require(Permission.ESCALATIONS_READ, page=True)),
) -> HTMLResponse:
    rows = await run_in_threadpool(views.open_escalations, access)
    return render(request, "escalations.html", access=access, rows=rows, done=done)


@router.post("/escalations/{escalation_id}/resolve")
async def resolve(
    escalation_id: uuid.UUID, access: Access = Depends(require(Permission.ESCALATIONS_RESOLVE, page=True))
) -> RedirectResponse:
    await run_in_threadpool(views.resolve, access, escalation_id=escalation_id)
    return RedirectResponse("/escalations?done=resolved", status_code=303)


@router.get("/deliveries", response_class=HTMLResponse)
async def deliveries(
    request: Request,
    done: str | None = Query(None, max_length=40),
    access: Access = Depends(require(Permission.DELIVERIES_READ, page=True)),
) -> HTMLResponse:
    rows = await run_in_threadpool(views.failed_deliveries, access)
    return render(request, "deliveries.html", access=access, rows=rows, done=done)


@router.post("/deliveries/{delivery_id}/replay")
async def replay(
    delivery_id: uuid.UUID, access: Access = Depends(require(Permission.DELIVERIES_REPLAY, page=True))
) -> RedirectResponse:
    await run_in_threadpool(views.replay_delivery, access, delivery_id=delivery_id)
    return RedirectResponse("/deliveries?done=Delivery+queued+again.", status_code=303)


@router.get("/users", response_class=HTMLResponse)
async def users(
    request: Request,
    done: str | None = Query(None, max_length=40),
    access: Access = Depends(require(Permission.PRINCIPALS_READ, page=True)),
) -> HTMLResponse:
    rows = await run_in_threadpool(views.principals_list, access)
    return render(request, "users.html", access=access, rows=rows, roles=ROLES, done=done)


@router.post("/users/{principal_id}/roles")
async def set_roles(
    principal_id: uuid.UUID,
    roles: list[str] = Form(default_factory=list),
    access: Access = Depends(require(Permission.ROLES_CHANGE, page=True)),
) -> RedirectResponse:
    await run_in_threadpool(views.change_roles, access, principal_id=principal_id, roles=roles)
    return RedirectResponse("/users?done=roles", status_code=303)
