"""The FastAPI application factory: `uvicorn --factory app.api.factory:create_app`."""

from __future__ import annotations

import time
from collections.abc import Awaitable, Callable

from fastapi import FastAPI, Request, Response

from app.api import ask, health
from app.api import audit as audit_api
from app.api.errors import install_error_handlers
from app.console import mount as console
from app.core import metrics
from app.core.logging import configure_logging
from integrations.slack import http as slack_http


def create_app() -> FastAPI:
    configure_logging()
    app = FastAPI(
        title="Plinth",
        version="0.1.0",
        description="Self-hosted assistant for Slack and email: cited answers, audited.",
        # The interactive docs pages load their scripts from a CDN; the schema is at /openapi.json.
        docs_url=None,
        redoc_url=None,
    )
    install_error_handlers(app)
    app.include_router(health.router)
    app.include_router(ask.router)
    console.mount(app)
    app.include_router(audit_api.router)
    slack_http.mount(app)

    @app.middleware("http")
    async def _measure(request: Request, call_next: Callable[[Request], Awaitable[Response]]) -> Response:
        started = time.perf_counter()
        response = await call_next(request)
        route = request.scope.get("route")
        path = getattr(route, "path", "unmatched")
        metrics.HTTP_REQUESTS.labels(request.method, path, str(response.status_code)).inc()
        metrics.HTTP_LATENCY.labels(path).observe(time.perf_counter() - started)
        return response

    return app
