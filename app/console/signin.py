"""Signing in and out: OIDC (authorization code + PKCE) or the break-glass local admin, a fresh
server-side session at every sign-in, and every outcome audited."""

from __future__ import annotations

import uuid
from typing import Any

from fastapi import APIRouter, Depends, Form, Query, Request, Response
from fastapi.responses import HTMLResponse, RedirectResponse
from starlette.concurrency import run_in_threadpool

from app.console import claims, oidc, sessions, transport
from app.console.access import CONSOLE_ROLES, SESSION_COOKIE, Access, require
from app.console.rendering import render
from app.core.db import session_scope
from app.core.errors import AppError, PermissionDenied, Unauthenticated
from app.core.settings import get_settings
from app.domains.principals import identities, local_accounts
from app.domains.principals import service as principals
from app.domains.principals.models import Principal
from audit import events
from audit import store as audit_store

LOGIN_COOKIE = "__Host-plinth_login"
CALLBACK_PATH = "/auth/callback"
router = APIRouter(include_in_schema=False)


def _safe_next(path: str | None) -> str:
    """Only a path on this console: never an absolute or protocol-relative URL (open redirect)."""
    if not path or not path.startswith("/") or path.startswith("//") or "\\" in path:
        return "/"
    return path


def _refuse(request: Request, exc: AppError, *, email: str | None = None) -> HTMLResponse:
    """Audit a failed sign-in in its own transaction and show why."""
    reason = exc.message if email is None else f"{exc.message} ({email})"
    if isinstance(exc, PermissionDenied):
        principals.record_denial(principal_id=None, what="console sign-in", reason=reason)
    else:
        principals.record_failed_authentication(channel="console", reason=reason)
    status = 403 if isinstance(exc, PermissionDenied) else 401 if isinstance(exc, Unauthenticated) else 503
    response = render(request, "login.html", status_code=status, error=exc.message, **_login_context(request))
    transport.clear_cookie(response, LOGIN_COOKIE)
    return response


def _login_context(request: Request) -> dict[str, Any]:
    console = get_settings().console
    return {"oidc": console.oidc_enabled, "local": console.local_login_enabled}


def _start(next_path: str) -> sessions.LoginStart:
    with session_scope() as session:
        return sessions.begin_login(session, next_path=_safe_next(next_path))


def _open(request: Request, principal: Principal, method: str, next_path: str) -> Response:
    """The signed-in response: a new session (ending any the browser had), audited."""
    if not principal.is_active or not set(principal.roles) & CONSOLE_ROLES:
        raise PermissionDenied(
            f"{principal.handle} holds no console role (admin, compliance or viewer); ask an admin"
        )
    with session_scope() as session:
        row, token = sessions.open_session(
            session,
            principal_id=principal.id,
            auth_method=method,
            client_ip=request.client.host if request.client else None,
            user_agent=request.headers.get("user-agent"),
            replaces=request.cookies.get(SESSION_COOKIE),
        )
        audit_store.append(
            session,
            event_type=events.AUTH_LOGIN,
            actor=principals.actor(principal.id),
            channel="console",
            subject=f"console_session:{row.id}",
            payload={"method": method, "roles": sorted(principal.roles), "client_ip": row.client_ip},
        )
    response = RedirectResponse(next_path, status_code=303)
    max_age = get_settings().console.session_absolute_hours * 3600
    transport.set_cookie(response, SESSION_COOKIE, token, max_age=max_age)
    transport.clear_cookie(response, LOGIN_COOKIE)
    return response


@router.get("/login", response_class=HTMLResponse)
async def login_page(request: Request, next: str = Query("/")) -> Response:
    if not transport.cookies_can_work(request):
        return render(
            request,
            "login.html",
            status_code=400,
            error="The console signs people in only over HTTPS (or on localhost). Serve it over HTTPS.",
            oidc=False,
            local=False,
        )
    context = _login_context(request)
    # The local form is bound to this browser like an OIDC sign-in: a state in the form, a cookie beside it.
    start = await run_in_threadpool(_start, next) if context["local"] else None
    response = render(
        request, "login.html", next=_safe_next(next), state=start.state if start else None, **context
    )
    if start is not None:
        timeout = get_settings().console.login_timeout_s
        transport.set_cookie(response, LOGIN_COOKIE, start.binding, max_age=timeout)
    return response


@router.get("/login/oidc")
async def login_oidc(request: Request, next: str = Query("/")) -> Response:
    if not get_settings().console.oidc_enabled:
        return RedirectResponse("/login", status_code=303)

    def begin() -> tuple[str, str]:
        start = _start(next)
        url = oidc.authorization_url(
            redirect_uri=transport.url_for_path(request, CALLBACK_PATH),
            state=start.state,
            nonce=start.nonce,
            code_verifier=start.code_verifier,
        )
        return url, start.binding

    try:
        url, binding = await run_in_threadpool(begin)
    except AppError as exc:
        return await run_in_threadpool(_refuse, request, exc)
    response = RedirectResponse(url, status_code=303)
    transport.set_cookie(response, LOGIN_COOKIE, binding, max_age=get_settings().console.login_timeout_s)
    return response


def _oidc_principal(identity: oidc.Identity) -> Principal:
    console = get_settings().console
    with session_scope() as session:
        principal = identities.principal_for_oidc(
            session,
            issuer=identity.issuer,
            subject=identity.subject,
            email=identity.email,
            email_verified=identity.email_verified,
            name=identity.name,
        )
        if console.roles_from_claims and console.role_rules:
            mapped = claims.roles_for(identity.claims, console.role_rules)
            if mapped != sorted(principal.roles):
                principals.set_roles(session, principal=principal, roles=mapped, by=None)
        return principal


def _callback(request: Request, code: str | None, state: str | None, error: str | None) -> Response:
    with session_scope() as session:
        login = sessions.finish_login(session, state=state, binding=request.cookies.get(LOGIN_COOKIE))
        next_path, verifier, nonce = login.next_path, login.code_verifier, login.nonce
    if error:
        raise oidc.SignInRefused(f"the identity provider refused the sign-in ({error})")
    if not code:
        raise oidc.SignInRefused("the sign-in response carries no authorization code")
    identity = oidc.complete(
        code=code,
        redirect_uri=transport.url_for_path(request, CALLBACK_PATH),
        code_verifier=verifier,
        nonce=nonce,
    )
    return _open(request, _oidc_principal(identity), "oidc", next_path)


@router.get(CALLBACK_PATH)
async def callback(
    request: Request,
    code: str | None = Query(None, max_length=4096),
    state: str | None = Query(None, max_length=512),
    error: str | None = Query(None, max_length=200),
) -> Response:
    try:
        return await run_in_threadpool(_callback, request, code, state, error)
    except AppError as exc:
        return await run_in_threadpool(_refuse, request, exc)


def _local(request: Request, email: str, password: str, state: str) -> Response:
    if not get_settings().console.local_login_enabled:
        raise PermissionDenied("local sign-in is disabled while single sign-on is configured")
    with session_scope() as session:
        login = sessions.finish_login(session, state=state, binding=request.cookies.get(LOGIN_COOKIE))
        next_path = login.next_path
    with session_scope() as session:
        principal = local_accounts.verify(session, email=email, password=password)
    if principal is None:
        raise Unauthenticated("wrong email address or password")
    return _open(request, principal, "local", next_path)


@router.post("/login/local")
async def login_local(
    request: Request,
    email: str = Form(..., max_length=320),
    password: str = Form(..., max_length=1024),
    state: str = Form("", max_length=512),
) -> Response:
    try:
        return await run_in_threadpool(_local, request, email, password, state)
    except AppError as exc:
        return await run_in_threadpool(_refuse, request, exc, email=email)


@router.post("/logout")
async def logout(request: Request, access: Access = Depends(require(None, page=True))) -> Response:
    def end() -> None:
        token = request.cookies.get(SESSION_COOKIE)
        with session_scope() as session:
            row = sessions.close(session, token=token, reason="logout") if token else None
            audit_store.append(
                session,
                event_type=events.AUTH_LOGOUT,
                actor=principals.actor(access.caller.principal_id),
                channel="console",
                subject=f"console_session:{row.id if row else uuid.UUID(int=0)}",
                payload={},
            )

    await run_in_threadpool(end)
    response = RedirectResponse("/login?signed_out=1", status_code=303)
    transport.clear_cookie(response, SESSION_COOKIE)
    return response
