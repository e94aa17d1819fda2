"""Who is calling the console (a session cookie, or a bearer token for automation) and what they may do.

Every endpoint declares the permission it needs; `require` resolves the caller, checks CSRF on state
changes made with a session cookie, and audits every refusal. Segregation of duties: compliance reads
(and will export) the audit trail but changes nothing; admins change things but read audit payloads only
when they also hold the `audit_payloads` grant."""

from __future__ import annotations

import secrets
from collections.abc import Awaitable, Callable
from dataclasses import dataclass
from enum import StrEnum

from fastapi import Request
from starlette.concurrency import run_in_threadpool

from app.api.auth import Caller, authenticate_token
from app.console import sessions, transport
from app.core.db import session_scope
from app.core.errors import PermissionDenied, Unauthenticated
from app.domains.principals import service as principals

SESSION_COOKIE = "__Host-plinth_session"
CSRF_HEADER = "X-CSRF-Token"
CSRF_FIELD = "csrf_token"
SAFE_METHODS = frozenset({"GET", "HEAD", "OPTIONS"})
CONSOLE_ROLES = frozenset({"admin", "compliance", "viewer"})  # one of them is needed to sign in


class Permission(StrEnum):
    DASHBOARD_READ = "dashboard.read"
    CONVERSATIONS_READ_ALL = "conversations.read_all"
    CORRECTIONS_READ = "corrections.read"
    CORRECTIONS_REVIEW = "corrections.review"
    ESCALATIONS_READ = "escalations.read"
    ESCALATIONS_RESOLVE = "escalations.resolve"
    DELIVERIES_READ = "deliveries.read"
    PRINCIPALS_READ = "principals.read"
    ROLES_CHANGE = "roles.change"
    AUDIT_READ = "audit.read"
    AUDIT_READ_PAYLOADS = "audit.read_payloads"
    AUDIT_EXPORT = "audit.export"
    SETTINGS_CHANGE = "settings.change"
    JOBS_REPLAY = "jobs.replay"
    SETTINGS_READ = "settings.read"
    DELIVERIES_REPLAY = "deliveries.replay"
    KNOWLEDGE_READ = "knowledge.read"
    KNOWLEDGE_CHANGE = "knowledge.change"


_READERS = CONSOLE_ROLES
GRANTS: dict[Permission, frozenset[str]] = {
    Permission.DASHBOARD_READ: _READERS,
    Permission.CONVERSATIONS_READ_ALL: _READERS,
    Permission.CORRECTIONS_READ: _READERS,
    Permission.CORRECTIONS_REVIEW: frozenset({"admin"}),
    Permission.ESCALATIONS_READ: _READERS,
    Permission.ESCALATIONS_RESOLVE: frozenset({"admin"}),
    Permission.DELIVERIES_READ: _READERS,
    Permission.PRINCIPALS_READ: frozenset({"admin", "compliance"}),
    Permission.ROLES_CHANGE: frozenset({"admin"}),
    Permission.AUDIT_READ: frozenset({"admin", "compliance"}),
    Permission.AUDIT_READ_PAYLOADS: frozenset({"compliance", "audit_payloads"}),
    Permission.AUDIT_EXPORT: frozenset({"compliance"}),
    Permission.SETTINGS_CHANGE: frozenset({"admin"}),
    Permission.JOBS_REPLAY: frozenset({"admin"}),
    Permission.SETTINGS_READ: frozenset({"admin", "compliance"}),
    Permission.DELIVERIES_REPLAY: frozenset({"admin"}),
    Permission.KNOWLEDGE_READ: _READERS,
    Permission.KNOWLEDGE_CHANGE: frozenset({"admin"}),
}


class SignInRequired(Unauthenticated):
    """A page was asked for without a live session: the browser is sent to sign in."""


@dataclass(frozen=True)
class Access:
    caller: Caller
    csrf_token: str | None = None  # set when the caller came through a console session

    def can(self, permission: Permission) -> bool:
        return bool(self.caller.roles & GRANTS[permission])


def deny(caller: Caller, what: str, reason: str) -> PermissionDenied:
    """Audit a refusal (in its own transaction, so it outlives the failed request) and return it."""
    principals.record_denial(principal_id=caller.principal_id, what=what, reason=reason)
    return PermissionDenied(reason)


def _from_session(request: Request, *, page: bool) -> Access:
    token = request.cookies.get(SESSION_COOKIE)
    with session_scope() as session:
        row = sessions.load(session, token=token) if token else None
        principal = principals.get(session, principal_id=row.principal_id) if row else None
        if row is not None and principal is not None and principal.is_active:
            caller = Caller(
                principal_id=principal.id, handle=principal.handle, roles=frozenset(principal.roles)
            )
            return Access(caller=caller, csrf_token=row.csrf_token)
    if page:
        raise SignInRequired("sign in to use the console")
    # An API call with neither a session nor a token: refused and audited like a missing token.
    return Access(caller=authenticate_token(None, request.url.path))


def _resolve(request: Request, *, page: bool) -> Access:
    header = request.headers.get("authorization")
    if header is not None:
        scheme, _, token = header.partition(" ")
        bearer = token.strip() if scheme.lower() == "bearer" and token.strip() else None
        return Access(caller=authenticate_token(bearer, request.url.path))
    return _from_session(request, page=page)


async def _check_csrf(request: Request, access: Access) -> None:
    """State changes with ambient credentials (the cookie) must carry the session's token and, when the
    browser says where the request comes from, come from the console itself."""
    if access.csrf_token is None or request.method in SAFE_METHODS:
        return
    what = f"{request.method} {request.url.path}"
    origin = request.headers.get("origin")
    if origin is not None and origin != transport.origin_of(request):
        raise await run_in_threadpool(deny, access.caller, what, f"cross-origin request from {origin}")
    sent = request.headers.get(CSRF_HEADER)
    if sent is None and request.headers.get("content-type", "").startswith(
        ("application/x-www-form-urlencoded", "multipart/form-data")
    ):
        field = (await request.form()).get(CSRF_FIELD)
        sent = field if isinstance(field, str) else None
    if not sent or not secrets.compare_digest(sent, access.csrf_token):
        raise await run_in_threadpool(deny, access.caller, what, "missing or wrong CSRF token")


def require(permission: Permission | None, *, page: bool = False) -> Callable[..., Awaitable[Access]]:
    """A dependency admitting callers that may `permission` (None: any signed-in caller)."""

    async def dependency(request: Request) -> Access:
        access = await run_in_threadpool(_resolve, request, page=page)
        await _check_csrf(request, access)
        if permission is not None and not access.can(permission):
            needs = " or ".join(sorted(GRANTS[permission]))
            raise await run_in_threadpool(
                deny, access.caller, f"{request.method} {request.url.path}", f"this needs the {needs} role"
            )
        return access

    return dependency
