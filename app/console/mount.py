"""Attach the console to the API application."""

from __future__ import annotations

from pathlib import Path
from urllib.parse import quote

from fastapi import FastAPI, Request, Response
from fastapi.responses import RedirectResponse
from fastapi.staticfiles import StaticFiles

from app.api.errors import error_response, status_for
from app.console import (
    api,
    audit_pages,
    headers,
    jobs_pages,
    knowledge_pages,
    operations_pages,
    pages,
    settings_api,
    settings_pages,
    signin,
)
from app.console.access import SignInRequired
from app.console.rendering import render
from app.core.errors import AppError

STATIC_DIR = Path(__file__).parent / "static"


def mount(app: FastAPI) -> None:
    headers.install(app)
    app.include_router(api.router)
    app.include_router(signin.router)
    app.include_router(pages.router)
    app.include_router(jobs_pages.router)
    app.include_router(audit_pages.router)
    app.include_router(knowledge_pages.router)
    app.include_router(knowledge_pages.api)
    app.include_router(operations_pages.router)
    app.include_router(operations_pages.api)
    app.include_router(settings_pages.router)
    app.include_router(settings_api.router)
    app.mount("/static", StaticFiles(directory=STATIC_DIR), name="static")

    @app.exception_handler(AppError)
    async def _app_error(request: Request, exc: AppError) -> Response:
        # The JSON API keeps its JSON errors; a page answers with a page (or a trip to sign in).
        if request.url.path.startswith("/api/"):
            return error_response(exc)
        if isinstance(exc, SignInRequired):
            target = request.url.path + (f"?{request.url.query}" if request.url.query else "")
            return RedirectResponse(f"/login?next={quote(target, safe='')}", status_code=303)
        return render(request, "error.html", status_code=status_for(exc), message=exc.message)
