"""Who is calling the API, and what they may do.

Two kinds of bearer token: the service token (`PLINTH_API_TOKEN`, or the development token under
PLINTH_HOME), which integrations use to act on behalf of users; and personal tokens (`plinth token
create`), which act as their principal with that principal's roles. Every refusal is audited."""

from __future__ import annotations

import hmac
import uuid
from collections.abc import Callable
from dataclasses import dataclass

from fastapi import Depends, Request
from fastapi.security import HTTPAuthorizationCredentials, HTTPBearer
from starlette.concurrency import run_in_threadpool

from app.core.db import session_scope
from app.core.errors import PermissionDenied, Unauthenticated
from app.core.settings import get_settings
from app.domains.principals import service as principals

_bearer = HTTPBearer(auto_error=False)


@dataclass(frozen=True)
class Caller:
    principal_id: uuid.UUID | None  # None for the service token
    handle: str
    roles: frozenset[str]

    @property
    def is_service(self) -> bool:
        return self.principal_id is None


SERVICE_CALLER = Caller(principal_id=None, handle="service", roles=frozenset())


def authenticate_token(token: str | None, path: str) -> Caller:
    """The caller this bearer token (or its absence) names; refusals are audited."""
    if token is not None and hmac.compare_digest(token.encode(), get_settings().api_token().encode()):
        return SERVICE_CALLER
    with session_scope() as session:
        principal = principals.principal_for_token(session, token=token) if token else None
        if principal is not None:
            return Caller(
                principal_id=principal.id, handle=principal.handle, roles=frozenset(principal.roles)
            )
        reason = "missing bearer token" if token is None else "invalid, expired or revoked bearer token"
    principals.record_failed_authentication(channel="api", reason=f"{reason} for {path}")
    raise Unauthenticated(f"{reason} (Authorization: Bearer <token>)")


async def current_caller(
    request: Request, credentials: HTTPAuthorizationCredentials | None = Depends(_bearer)
) -> Caller:
    token = credentials.credentials if credentials is not None else None
    return await run_in_threadpool(authenticate_token, token, request.url.path)


def require_roles(*roles: str) -> Callable[..., object]:
    """A dependency admitting callers holding any of `roles` (the service token holds none)."""

    async def dependency(request: Request, caller: Caller = Depends(current_caller)) -> Caller:
        if caller.roles & set(roles):
            return caller

        def deny() -> None:
            principals.record_denial(
                principal_id=caller.principal_id,
                what=f"{request.method} {request.url.path}",
                reason=f"needs role {' or '.join(roles)}",
            )

        await run_in_threadpool(deny)
        raise PermissionDenied(f"this needs the {' or '.join(roles)} role")

    return dependency
