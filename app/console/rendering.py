"""Server-rendered pages: Jinja2 templates with autoescaping, and the context every page shares."""

from __future__ import annotations

from pathlib import Path
from typing import Any

from fastapi import Request
from fastapi.responses import HTMLResponse
from fastapi.templating import Jinja2Templates

from app.console.access import CSRF_FIELD, CSRF_HEADER, Access, Permission

_templates = Jinja2Templates(directory=Path(__file__).parent / "templates")
NAV = (
    ("/", "Dashboard", Permission.DASHBOARD_READ),
    ("/conversations", "Conversations", None),
    ("/corrections", "Corrections", Permission.CORRECTIONS_READ),
    ("/escalations", "Escalations", Permission.ESCALATIONS_READ),
    ("/deliveries", "Failed deliveries", Permission.DELIVERIES_READ),
    ("/knowledge", "Knowledge", Permission.KNOWLEDGE_READ),
    ("/users", "Users and roles", Permission.PRINCIPALS_READ),
    ("/jobs", "Failed tasks", Permission.JOBS_REPLAY),
    ("/audit", "Audit", Permission.AUDIT_READ),
    ("/settings/retention", "Retention and holds", Permission.SETTINGS_READ),
    ("/settings/channels", "Slack channels", Permission.SETTINGS_READ),
    ("/settings/email", "Email", Permission.SETTINGS_READ),
    ("/settings/models", "Models", Permission.SETTINGS_READ),
    ("/settings/prompts", "Prompts", Permission.SETTINGS_READ),
    ("/settings/budgets", "Budgets", Permission.SETTINGS_READ),
)


def render(
    request: Request, template: str, *, access: Access | None = None, status_code: int = 200, **context: Any
) -> HTMLResponse:
    nav = [(href, label) for href, label, needs in NAV if access and (needs is None or access.can(needs))]
    return _templates.TemplateResponse(
        request,
        template,
        {
            "access": access,
            "nav": nav,
            "path": request.url.path,
            "csrf_field": CSRF_FIELD,
            "csrf_header": CSRF_HEADER,
            "Permission": Permission,
            **context,
        },
        status_code=status_code,
    )
