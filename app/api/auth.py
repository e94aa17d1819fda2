"""Bearer-token authentication for the automation API."""

from __future__ import annotations

import hmac

from fastapi import Depends
from fastapi.security import HTTPAuthorizationCredentials, HTTPBearer

from app.core.errors import Unauthenticated
from app.core.settings import get_settings

_bearer = HTTPBearer(auto_error=False)


def require_api_token(credentials: HTTPAuthorizationCredentials | None = Depends(_bearer)) -> None:
    if credentials is None:
        raise Unauthenticated("missing bearer token (Authorization: Bearer <PLINTH_API_TOKEN>)")
    expected = get_settings().api_token()
    if not hmac.compare_digest(credentials.credentials.encode(), expected.encode()):
        raise Unauthenticated("invalid bearer token")
