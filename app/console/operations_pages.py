"""Settings pages for Slack channels, email intake, budgets and rate limits and the model registry (each
a versioned section: history, diff and rollback at /settings/{key}/history), and prompt versions (with a
diff between two versions and activation of any one), and the JSON API for models and prompts. Reading:
admins and compliance; changes: admins. Forms post with the session's CSRF token and redirect back."""

from __future__ import annotations

import re
from collections.abc import Callable
from typing import Any
from urllib.parse import quote

from fastapi import APIRouter, Depends, Form, Path, Query, Request
from fastapi.responses import HTMLResponse, RedirectResponse
from pydantic import BaseModel
from starlette.concurrency import run_in_threadpool

from app.console import operations_views as views
from app.console.access import Access, Permission, require
from app.console.rendering import render
from app.console.settings_api import MAX_VERSION
from app.core.errors import InvalidInput

router = APIRouter(include_in_schema=False)
api = APIRouter(prefix="/api/v1", tags=["models"])
READ_PAGE = require(Permission.SETTINGS_READ, page=True)
CHANGE_PAGE = require(Permission.SETTINGS_CHANGE, page=True)
READ = require(Permission.SETTINGS_READ)
CHANGE = require(Permission.SETTINGS_CHANGE)
Version = Form(None, ge=0, le=MAX_VERSION)
Reason = Form(None, max_length=500)
NAME_PATTERN = r"^[a-z0-9][a-z0-9._-]{0,80}$"  # model names and prompt versions
PromptVersionName = Path(pattern=NAME_PATTERN)
ModelName = Path(pattern=NAME_PATTERN)


def _back(path: str, done: str) -> RedirectResponse:
    return RedirectResponse(f"{path}?done={quote(done)}", status_code=303)


def _lines(text: str) -> list[str]:
    return [s for s in re.split(r"[\s,]+", text) if s]


def _number(value: str | None, what: str, kind: type[int] | type[float] = int) -> Any:
    if value is None or not value.strip():
        return None
    try:
        return kind(value.strip())
    except ValueError as exc:
        raise InvalidInput(f"{what} must be a number, not {value!r}") from exc


def _read_page(path: str, template: str, load: Callable[[Access], object], name: str) -> None:
    """A settings page: what `load` returns, shown as `name` in the template, with a change's outcome."""

    async def page(
        request: Request, done: str | None = Query(None, max_length=200), access: Access = Depends(READ_PAGE)
    ) -> HTMLResponse:
        value: Any = await run_in_threadpool(load, access)
        context: dict[str, Any] = {name: value}
        return render(request, template, access=access, done=done, **context)

    router.add_api_route(path, page, methods=["GET"], response_class=HTMLResponse)


_read_page("/settings/channels", "settings_channels.html", views.channels_page, "page")
_read_page("/settings/email", "settings_email.html", views.email_settings, "current")
_read_page("/settings/budgets", "settings_budgets.html", views.budgets, "current")
_read_page("/settings/models", "settings_models.html", views.models_page, "page")


@router.post("/settings/channels")
async def configure_channel(
    *,
    audience: str = Form(..., max_length=100),
    enabled: bool = Form(False),
    mentions_only: bool = Form(False),
    allow_external: bool = Form(False),
    scope: str = Form("", max_length=2000),
    allowed_users: str = Form("", max_length=4000),
    reason: str | None = Reason,
    version: int | None = Version,
    access: Access = Depends(CHANGE_PAGE),
) -> RedirectResponse:
    settings = {
        "enabled": enabled,
        "mentions_only": mentions_only,
        "allow_external": allow_external,
        "scope": _lines(scope) or None,
        "allowed_users": _lines(allowed_users),
    }
    saved = await run_in_threadpool(
        views.configure_channel, access, audience=audience, settings=settings, reason=reason, version=version
    )
    return _back("/settings/channels", f"Settings of {audience} saved (version {saved.version}).")


@router.post("/settings/email")
async def set_email(
    addresses: str = Form("", max_length=20_000),
    allowed_domains: str = Form("", max_length=20_000),
    reason: str | None = Reason,
    version: int | None = Version,
    access: Access = Depends(CHANGE_PAGE),
) -> RedirectResponse:
    saved = await run_in_threadpool(
        views.set_email,
        access,
        addresses=_lines(addresses),
        domains=_lines(allowed_domains),
        reason=reason,
        version=version,
    )
    return _back("/settings/email", f"Email intake saved (version {saved.version}).")


@router.post("/settings/budgets")
async def set_budget(
    *,
    kind: str = Form(..., pattern="^(user|team|channel)$"),
    value: str = Form(..., min_length=1, max_length=200),
    period: str = Form("day", pattern="^(day|month)$"),
    soft_tokens: str | None = Form(None, max_length=20),
    hard_tokens: str | None = Form(None, max_length=20),
    soft_cost: str | None = Form(None, max_length=20),
    hard_cost: str | None = Form(None, max_length=20),
    requests_per_minute: str | None = Form(None, max_length=20),
    reason: str | None = Reason,
    version: int | None = Version,
    access: Access = Depends(CHANGE_PAGE),
) -> RedirectResponse:
    limits = {
        "period": period,
        "soft_tokens": _number(soft_tokens, "the soft token limit"),
        "hard_tokens": _number(hard_tokens, "the hard token limit"),
        "soft_cost": _number(soft_cost, "the soft cost limit", float),
        "hard_cost": _number(hard_cost, "the hard cost limit", float),
        "requests_per_minute": _number(requests_per_minute, "the rate limit"),
    }
    key = f"{kind}:{value.strip()}"
    saved = await run_in_threadpool(
        views.set_budget, access, key=key, limits=limits, reason=reason, version=version
    )
    return _back("/settings/budgets", f"Budget for {key} saved (version {saved.version}).")


@router.post("/settings/budgets/remove")
async def remove_budget(
    key: str = Form(..., max_length=210),
    reason: str | None = Reason,
    version: int | None = Version,
    access: Access = Depends(CHANGE_PAGE),
) -> RedirectResponse:
    saved = await run_in_threadpool(
        views.set_budget, access, key=key, limits=None, reason=reason, version=version
    )
    return _back("/settings/budgets", f"Budget for {key} removed (version {saved.version}).")


@router.post("/settings/models")
async def register_model(
    *,
    name: str = Form(..., max_length=63),
    base_url: str = Form(..., max_length=500),
    served_model: str = Form(..., max_length=200),
    context_length: int = Form(..., ge=1, le=10_000_000),
    price_in_per_1k: float = Form(0.0, ge=0),
    price_out_per_1k: float = Form(0.0, ge=0),
    priority: int = Form(100, ge=0, le=10_000),
    reason: str | None = Reason,
    version: int | None = Version,
    access: Access = Depends(CHANGE_PAGE),
) -> RedirectResponse:
    fields = {
        "base_url": base_url.strip(),
        "served_model": served_model.strip(),
        "context_length": context_length,
        "price_in_per_1k": price_in_per_1k,
        "price_out_per_1k": price_out_per_1k,
        "priority": priority,
    }
    saved = await run_in_threadpool(
        views.register_model, access, name=name.strip(), fields=fields, reason=reason, version=version
    )
    return _back("/settings/models", f"Model {name.strip()} saved (version {saved.version}).")


@router.post("/settings/models/{name}/enabled")
async def enable_model_page(
    name: str = ModelName,
    enabled: bool = Form(...),
    version: int | None = Version,
    access: Access = Depends(CHANGE_PAGE),
) -> RedirectResponse:
    saved = await run_in_threadpool(views.enable_model, access, name=name, enabled=enabled, version=version)
    state = "enabled" if enabled else "disabled"
    return _back("/settings/models", f"Model {name} {state} (version {saved.version}).")


@router.get("/settings/prompts", response_class=HTMLResponse)
async def prompts_page(
    request: Request,
    compare: str | None = Query(None, pattern=NAME_PATTERN, description="Show changes since this version."),
    to: str | None = Query(None, pattern=NAME_PATTERN),
    done: str | None = Query(None, max_length=200),
    access: Access = Depends(READ_PAGE),
) -> HTMLResponse:
    versions = await run_in_threadpool(views.prompts, access)
    diff = None
    if compare and to:
        diff = await run_in_threadpool(views.prompt_diff, access, from_version=compare, to_version=to)
    return render(request, "settings_prompts.html", access=access, versions=versions, diff=diff, done=done)


@router.post("/settings/prompts")
async def publish_prompt(
    name: str = Form("answer", max_length=63),
    system: str = Form(..., max_length=50_000),
    user_template: str = Form(..., max_length=50_000),
    note: str | None = Form(None, max_length=500),
    access: Access = Depends(CHANGE_PAGE),
) -> RedirectResponse:
    version = await run_in_threadpool(
        views.publish_prompt, access, name=name.strip(), system=system, user_template=user_template, note=note
    )
    return _back("/settings/prompts", f"Published {version} (not active until activated).")


@router.post("/settings/prompts/{prompt_version}/activate")
async def activate_prompt_page(
    prompt_version: str = PromptVersionName, access: Access = Depends(CHANGE_PAGE)
) -> RedirectResponse:
    await run_in_threadpool(views.activate_prompt, access, version=prompt_version)
    return _back("/settings/prompts", f"{prompt_version} is active: new answers use it.")


class ModelOut(BaseModel):
    name: str
    base_url: str
    served_model: str
    context_length: int
    priority: int
    enabled: bool
    price_in_per_1k: float
    price_out_per_1k: float


class PromptOut(BaseModel):
    name: str
    version: str
    active: bool
    builtin: bool
    note: str | None
    created_by: str
    system: str
    user_template: str


class PromptDiffOut(BaseModel):
    from_version: str
    to_version: str
    system: list[str]
    user: list[str]


class EnabledIn(BaseModel):
    enabled: bool


@api.get("/models", response_model=list[ModelOut])
async def models_api(access: Access = Depends(READ)) -> list[ModelOut]:
    """Registered models in failover order."""
    page = await run_in_threadpool(views.models_page, access)
    return [ModelOut.model_validate(m, from_attributes=True) for m in page.registered]


@api.put("/models/{name}/enabled", response_model=dict[str, bool])
async def enable_model_api(
    body: EnabledIn, name: str = ModelName, access: Access = Depends(CHANGE)
) -> dict[str, bool]:
    await run_in_threadpool(views.enable_model, access, name=name, enabled=body.enabled, version=None)
    return {"enabled": body.enabled}


@api.get("/prompts", response_model=list[PromptOut])
async def prompts_api(access: Access = Depends(READ)) -> list[PromptOut]:
    """Every prompt version (the built-in one too), which one is active."""
    return [
        PromptOut.model_validate(p, from_attributes=True)
        for p in await run_in_threadpool(views.prompts, access)
    ]


@api.get("/prompts/diff", response_model=PromptDiffOut)
async def prompt_diff_api(
    from_version: str | None = Query(
        None, alias="from", pattern=NAME_PATTERN, description="Default: the version published before `to`."
    ),
    to_version: str | None = Query(
        None, alias="to", pattern=NAME_PATTERN, description="Default: the active answer prompt."
    ),
    access: Access = Depends(READ),
) -> PromptDiffOut:
    found = await run_in_threadpool(
        views.prompt_diff, access, from_version=from_version, to_version=to_version
    )
    return PromptDiffOut.model_validate(found, from_attributes=True)


@api.post("/prompts/{prompt_version}/activate", response_model=dict[str, str])
async def activate_prompt_api(
    prompt_version: str = PromptVersionName, access: Access = Depends(CHANGE)
) -> dict[str, str]:
    """Make a version (an earlier one: a rollback) the one new answers use; audited."""
    await run_in_threadpool(views.activate_prompt, access, version=prompt_version)
    return {"active": prompt_version}
