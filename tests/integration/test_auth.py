from __future__ import annotations

from datetime import timedelta

from fastapi import Depends, FastAPI
from fastapi.testclient import TestClient
from sqlalchemy import select, update

from app.api.auth import Caller, require_roles
from app.api.errors import install_error_handlers
from app.core.db import session_scope, utcnow
from app.domains.principals import service as principals
from app.domains.principals.models import ApiToken
from audit.models import AuditEvent


def _app() -> TestClient:
    app = FastAPI()
    install_error_handlers(app)

    @app.get("/audit-only")
    async def audit_only(caller: Caller = Depends(require_roles("compliance"))) -> dict[str, str]:
        return {"handle": caller.handle}

    return TestClient(app)


def _token(handle: str, roles: list[str]) -> str:
    with session_scope() as session:
        principal = principals.ensure_local(session, handle=handle)
        principals.set_roles(session, principal=principal, roles=roles, by=None)
        _, plain = principals.create_api_token(
            session, principal=principal, name="test", ttl_days=None, by=None
        )
    return plain


def _events(event_type: str) -> list[AuditEvent]:
    with session_scope() as session:
        return list(session.scalars(select(AuditEvent).where(AuditEvent.event_type == event_type)))


def test_roles_admit_and_refuse_and_refusals_are_audited(database_url: str) -> None:
    client = _app()
    officer = _token("officer@example.com", ["compliance"])
    viewer = _token("viewer@example.com", ["viewer"])
    assert client.get("/audit-only", headers={"Authorization": f"Bearer {officer}"}).json() == {
        "handle": "officer@example.com"
    }
    denied = client.get("/audit-only", headers={"Authorization": f"Bearer {viewer}"})
    assert denied.status_code == 403
    assert denied.json()["error"]["message"] == "this needs the compliance role"
    [denial] = _events("auth.permission_denied")
    assert denial.payload == {"what": "GET /audit-only", "reason": "needs role compliance"}
    assert len(_events("admin.roles_changed")) == 2


def test_bad_tokens_are_refused_and_audited(database_url: str) -> None:
    client = _app()
    assert client.get("/audit-only").status_code == 401
    assert client.get("/audit-only", headers={"Authorization": "Bearer plt_forged"}).status_code == 401
    reasons = [e.payload["reason"] for e in _events("auth.failed")]
    assert reasons == [
        "missing bearer token for /audit-only",
        "invalid, expired or revoked bearer token for /audit-only",
    ]


def test_revoked_and_expired_tokens_stop_working(database_url: str) -> None:
    client = _app()
    plain = _token("temp@example.com", ["compliance"])
    headers = {"Authorization": f"Bearer {plain}"}
    assert client.get("/audit-only", headers=headers).status_code == 200
    with session_scope() as session:
        token_id = session.scalar(select(ApiToken.id))
        session.execute(update(ApiToken).values(expires_at=utcnow() - timedelta(seconds=1)))
    assert client.get("/audit-only", headers=headers).status_code == 401
    with session_scope() as session:
        session.execute(update(ApiToken).values(expires_at=None))
        principals.revoke_api_token(session, token_id=token_id, by=None)
    assert client.get("/audit-only", headers=headers).status_code == 401
    assert len(_events("auth.token_revoked")) == 1


def test_tokens_are_stored_only_as_digests(database_url: str) -> None:
    plain = _token("digest@example.com", [])
    with session_scope() as session:
        stored = session.scalar(select(ApiToken.token_sha256))
    assert stored is not None
    assert plain not in stored
    assert len(stored) == 64
