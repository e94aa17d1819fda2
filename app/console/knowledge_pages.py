"""The Knowledge page and its JSON API: sources, documents and their versions, refused files; upload,
re-ingest, delete, access lists, review and expiry dates. Reading: viewers, compliance and admins;
changes: admins. Forms post with the session's CSRF token and redirect back."""

from __future__ import annotations

import uuid
from urllib.parse import urlencode

from fastapi import APIRouter, Depends, File, Form, Query, Request, UploadFile
from fastapi.responses import HTMLResponse, RedirectResponse
from pydantic import BaseModel
from starlette.concurrency import run_in_threadpool

from app.console import knowledge_views as views
from app.console.access import Access, Permission, require
from app.console.rendering import render
from app.domains.knowledge.schemas import RefusalInfo, SourceInfo

router = APIRouter(include_in_schema=False)
api = APIRouter(prefix="/api/v1/knowledge", tags=["knowledge"])
READ_PAGE = require(Permission.KNOWLEDGE_READ, page=True)
CHANGE_PAGE = require(Permission.KNOWLEDGE_CHANGE, page=True)
READ = require(Permission.KNOWLEDGE_READ)
CHANGE = require(Permission.KNOWLEDGE_CHANGE)
PAGE = "/knowledge"


class AccessIn(BaseModel):
    access: list[str]


class ReviewIn(BaseModel):
    review_at: str | None = None
    expires_at: str | None = None


def _back(path: str, *, done: str | None = None, refused: str | None = None) -> RedirectResponse:
    query = urlencode({k: v for k, v in (("done", done), ("refused", refused)) if v})
    return RedirectResponse(f"{path}?{query}" if query else path, status_code=303)


def _document_page(document_id: uuid.UUID) -> str:
    return f"{PAGE}/documents/{document_id}"


@router.get(PAGE, response_class=HTMLResponse)
async def knowledge_page(
    request: Request,
    deleted: bool = Query(False, description="Include deleted documents."),
    done: str | None = Query(None, max_length=600),
    refused: str | None = Query(None, max_length=600),
    access: Access = Depends(READ_PAGE),
) -> HTMLResponse:
    page = await run_in_threadpool(views.overview, access, include_deleted=deleted)
    return render(
        request, "knowledge.html", access=access, page=page, deleted=deleted, done=done, refused=refused
    )


@router.get(f"{PAGE}/documents/{{document_id}}", response_class=HTMLResponse)
async def document_page(
    request: Request,
    document_id: uuid.UUID,
    done: str | None = Query(None, max_length=600),
    refused: str | None = Query(None, max_length=600),
    access: Access = Depends(READ_PAGE),
) -> HTMLResponse:
    doc = await run_in_threadpool(views.document, access, document_id=document_id)
    return render(request, "knowledge_document.html", access=access, doc=doc, done=done, refused=refused)


@router.post(f"{PAGE}/upload")
async def upload_page(
    file: UploadFile = File(...),
    grants: str = Form("org", max_length=2000),
    review_at: str | None = Form(None, max_length=40),
    expires_at: str | None = Form(None, max_length=40),
    access: Access = Depends(CHANGE_PAGE),
) -> RedirectResponse:
    name = views.file_name(file.filename)
    result = await run_in_threadpool(
        views.upload,
        access,
        name=name,
        stream=file.file,
        grants=views.specs(grants),
        review_at=views.parse_date(review_at, "review"),
        expires_at=views.parse_date(expires_at, "expiry"),
    )
    if result.outcome is None:
        return _back(PAGE, refused=result.summary(name))
    return _back(_document_page(result.outcome.document_id), done=result.summary(name))


@router.post(f"{PAGE}/documents/{{document_id}}/reingest")
async def reingest_page(document_id: uuid.UUID, access: Access = Depends(CHANGE_PAGE)) -> RedirectResponse:
    result = await run_in_threadpool(views.reingest, access, document_id=document_id)
    if result.outcome is None:
        return _back(_document_page(document_id), refused=result.summary("the stored original"))
    return _back(_document_page(document_id), done=result.summary("the stored original"))


@router.post(f"{PAGE}/documents/{{document_id}}/delete")
async def delete_page(document_id: uuid.UUID, access: Access = Depends(CHANGE_PAGE)) -> RedirectResponse:
    removed = await run_in_threadpool(views.delete, access, document_id=document_id)
    return _back(PAGE, done=f"Document deleted: {removed} passages left retrieval.")


@router.post(f"{PAGE}/documents/{{document_id}}/access")
async def access_page(
    document_id: uuid.UUID, grants: str = Form(..., max_length=2000), access: Access = Depends(CHANGE_PAGE)
) -> RedirectResponse:
    await run_in_threadpool(views.set_access, access, document_id=document_id, grants=views.specs(grants))
    return _back(_document_page(document_id), done="Access list saved.")


@router.post(f"{PAGE}/documents/{{document_id}}/review")
async def review_page(
    document_id: uuid.UUID,
    review_at: str | None = Form(None, max_length=40),
    expires_at: str | None = Form(None, max_length=40),
    access: Access = Depends(CHANGE_PAGE),
) -> RedirectResponse:
    await run_in_threadpool(
        views.set_review,
        access,
        document_id=document_id,
        review_at=views.parse_date(review_at, "review"),
        expires_at=views.parse_date(expires_at, "expiry"),
    )
    return _back(_document_page(document_id), done="Review and expiry dates saved.")


@api.get("/sources", response_model=list[SourceInfo])
async def sources_api(access: Access = Depends(READ)) -> list[SourceInfo]:
    return await run_in_threadpool(views.sources, access)


@api.get("/documents", response_model=list[views.DocumentRow])
async def documents_api(
    include_deleted: bool = Query(False), access: Access = Depends(READ)
) -> list[views.DocumentRow]:
    """Newest first, with the current version's file, front end and submitter, and freshness."""
    return await run_in_threadpool(views.documents, access, include_deleted=include_deleted)


@api.get("/documents/{document_id}", response_model=views.DocumentRow)
async def document_api(document_id: uuid.UUID, access: Access = Depends(READ)) -> views.DocumentRow:
    """One document with every version's provenance."""
    return await run_in_threadpool(views.document, access, document_id=document_id)


@api.get("/refusals", response_model=list[RefusalInfo])
async def refusals_api(
    limit: int = Query(200, ge=1, le=1000), access: Access = Depends(READ)
) -> list[RefusalInfo]:
    """Refused files, newest first, with the reason their submitter was told."""
    return await run_in_threadpool(views.refusals, access, limit=limit)


@api.post("/documents", response_model=views.UploadResult)
async def upload_api(
    file: UploadFile = File(...),
    grants: list[str] = Form(default_factory=lambda: ["org"]),
    review_at: str | None = Form(None, max_length=40),
    expires_at: str | None = Form(None, max_length=40),
    access: Access = Depends(CHANGE),
) -> views.UploadResult:
    """Ingest a file (multipart) like `plinth ingest`: ingested, unchanged, or refused with the reason
    (a refusal is recorded and listed under /refusals)."""
    return await run_in_threadpool(
        views.upload,
        access,
        name=views.file_name(file.filename),
        stream=file.file,
        grants=grants,
        review_at=views.parse_date(review_at, "review"),
        expires_at=views.parse_date(expires_at, "expiry"),
    )


@api.post("/documents/{document_id}/reingest", response_model=views.UploadResult)
async def reingest_api(document_id: uuid.UUID, access: Access = Depends(CHANGE)) -> views.UploadResult:
    """A new version from the stored original (parsed, chunked and embedded again)."""
    return await run_in_threadpool(views.reingest, access, document_id=document_id)


@api.delete("/documents/{document_id}")
async def delete_api(document_id: uuid.UUID, access: Access = Depends(CHANGE)) -> dict[str, int]:
    return {"chunks_removed": await run_in_threadpool(views.delete, access, document_id=document_id)}


@api.put("/documents/{document_id}/access", response_model=views.DocumentRow)
async def access_api(
    document_id: uuid.UUID, body: AccessIn, access: Access = Depends(CHANGE)
) -> views.DocumentRow:
    """Replace the access list (org, group:NAME, user:HANDLE, slack:TEAM:CHANNEL)."""
    return await run_in_threadpool(views.set_access, access, document_id=document_id, grants=body.access)


@api.put("/documents/{document_id}/review", response_model=views.DocumentRow)
async def review_api(
    document_id: uuid.UUID, body: ReviewIn, access: Access = Depends(CHANGE)
) -> views.DocumentRow:
    """Set (or, with null, clear) the review and expiry dates."""
    return await run_in_threadpool(
        views.set_review,
        access,
        document_id=document_id,
        review_at=views.parse_date(body.review_at, "review"),
        expires_at=views.parse_date(body.expires_at, "expiry"),
    )
