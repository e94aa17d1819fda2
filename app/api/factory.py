"""The FastAPI application factory: `uvicorn --factory app.api.factory:create_app`."""

from __future__ import annotations

from fastapi import FastAPI

from app.api import ask, health
from app.api import audit as audit_api
from app.api.errors import install_error_handlers
from app.api.metrics import RequestMetrics
from app.console import mount as console
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

    app.add_middleware(RequestMetrics)
    return app
