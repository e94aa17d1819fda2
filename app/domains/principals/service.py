"""Principals and the access grants they carry."""

from __future__ import annotations

import hashlib
import re
import secrets
import uuid
from collections.abc import Sequence
from datetime import timedelta

from sqlalchemy import func, select
from sqlalchemy.dialects.postgresql import insert as pg_insert
from sqlalchemy.orm import Session

from app.core.db import engine, utcnow
from app.core.errors import InvalidInput, NotFound
from app.domains.principals.models import ApiToken, Principal
from audit import events, group_commit
from audit import store as audit_store

ORG_GRANT = "org"
# audit_payloads is a grant, not a job: it lets its holder read audit payloads (compliance reads them
# anyway; an admin does not unless granted it).
ROLES = ("admin", "compliance", "viewer", "audit_payloads")
TOKEN_PREFIX = "plt_"  # noqa: S105 - a prefix, not a secret
_HANDLE = re.compile(r"^[A-Za-z0-9][A-Za-z0-9._@+-]{0,127}$")


def user_grant(principal_id: uuid.UUID) -> str:
    return f"user:{principal_id}"


def group_grant(group: str) -> str:
    return f"group:{group}"


def access_grants(principal: Principal) -> list[str]:
    """Everything this principal may read is tagged with at least one of these grants."""
    return [ORG_GRANT, user_grant(principal.id), *(group_grant(g) for g in principal.groups)]


def get(session: Session, *, principal_id: uuid.UUID) -> Principal:
    principal = session.get(Principal, principal_id)
    if principal is None:
        raise NotFound(f"no principal {principal_id}")
    return principal


def find_by_handle(session: Session, *, handle: str) -> Principal | None:
    return session.scalar(select(Principal).where(Principal.handle == handle))


def find_by_email(session: Session, *, email: str) -> Principal | None:
    return session.scalar(select(Principal).where(func.lower(Principal.email) == email.strip().lower()))


def list_principals(session: Session, *, limit: int = 500) -> Sequence[Principal]:
    """People first (by handle), then services."""
    return session.scalars(
        select(Principal).order_by(Principal.kind.desc(), Principal.handle).limit(limit)
    ).all()


def ensure_local(session: Session, *, handle: str, groups: list[str] | None = None) -> Principal:
    """The principal with this handle, created on first use (operators acting through the CLI or API)."""
    if not _HANDLE.match(handle):
        raise InvalidInput(f"invalid user handle {handle!r}: use letters, digits and . _ @ + -")
    principal = find_by_handle(session, handle=handle)
    if principal is None:
        # Two first uses at once (two questions from a new user) must not collide on the handle.
        session.execute(
            pg_insert(Principal)
            .values(
                handle=handle,
                display_name=handle,
                email=handle if "@" in handle else None,
                groups=list(groups or []),
            )
            .on_conflict_do_nothing()
        )
        principal = find_by_handle(session, handle=handle)
        if principal is None:
            raise InvalidInput(f"the email address {handle!r} belongs to another user")
    elif groups is not None and set(groups) - set(principal.groups):
        principal.groups = sorted(set(principal.groups) | set(groups))
        session.flush()
    return principal


def resolve_grants(session: Session, specs: list[str]) -> list[str]:
    """Access-list entries as typed by people (org, group:NAME, user:HANDLE) → stored grants."""
    grants: list[str] = []
    for spec in specs:
        kind, _, value = spec.partition(":")
        if spec == ORG_GRANT:
            grants.append(ORG_GRANT)
        elif kind == "group" and value:
            grants.append(group_grant(value))
        elif kind == "user" and value:
            grants.append(user_grant(ensure_local(session, handle=value).id))
        else:
            raise InvalidInput(f"invalid access entry {spec!r}: use org, group:NAME or user:HANDLE")
    if not grants:
        raise InvalidInput("a document needs at least one access entry")
    return sorted(set(grants))


def grant_spec(session: Session, grant: str) -> str:
    """A stored grant as people type it: user:<id> becomes user:HANDLE (others are the same)."""
    kind, _, value = grant.partition(":")
    if kind != "user":
        return grant
    try:
        principal = session.get(Principal, uuid.UUID(value))
    except ValueError:
        return grant
    return f"user:{principal.handle}" if principal is not None else grant


def actor(principal_id: uuid.UUID | None) -> str:
    """How a principal appears as the actor of an audit event."""
    return f"principal:{principal_id}" if principal_id else events.SYSTEM_ACTOR


def set_roles(session: Session, *, principal: Principal, roles: list[str], by: uuid.UUID | None) -> None:
    unknown = sorted(set(roles) - set(ROLES))
    if unknown:
        raise InvalidInput(f"unknown role(s) {', '.join(unknown)}: use {', '.join(ROLES)}")
    before = sorted(principal.roles)
    principal.roles = sorted(set(roles))
    audit_store.append(
        session,
        event_type=events.ADMIN_ROLES_CHANGED,
        actor=actor(by),
        subject=f"principal:{principal.id}",
        payload={"handle": principal.handle, "before": before, "after": principal.roles},
    )
    session.flush()


def _digest(token: str) -> str:
    return hashlib.sha256(token.encode()).hexdigest()


def create_api_token(
    session: Session, *, principal: Principal, name: str, ttl_days: int | None, by: uuid.UUID | None
) -> tuple[ApiToken, str]:
    """A new token for the principal; the plain value is returned once and never stored."""
    plain = TOKEN_PREFIX + secrets.token_urlsafe(32)
    token = ApiToken(
        principal_id=principal.id,
        name=name,
        token_sha256=_digest(plain),
        expires_at=utcnow() + timedelta(days=ttl_days) if ttl_days else None,
    )
    session.add(token)
    session.flush()
    audit_store.append(
        session,
        event_type=events.AUTH_TOKEN_CREATED,
        actor=actor(by),
        subject=f"api_token:{token.id}",
        payload={
            "principal": principal.handle,
            "name": name,
            "expires_at": token.expires_at and token.expires_at.isoformat(),
        },
    )
    return token, plain


def revoke_api_token(session: Session, *, token_id: uuid.UUID, by: uuid.UUID | None) -> None:
    token = session.get(ApiToken, token_id)
    if token is None:
        raise NotFound(f"no API token {token_id}")
    if token.revoked_at is None:
        token.revoked_at = utcnow()
        audit_store.append(
            session,
            event_type=events.AUTH_TOKEN_REVOKED,
            actor=actor(by),
            subject=f"api_token:{token.id}",
            payload={"name": token.name},
        )
        session.flush()


def principal_for_token(session: Session, *, token: str) -> Principal | None:
    """The active principal a valid, unexpired, unrevoked token belongs to."""
    if not token.startswith(TOKEN_PREFIX):
        return None
    found = session.scalar(select(ApiToken).where(ApiToken.token_sha256 == _digest(token)))
    if found is None or found.revoked_at is not None:
        return None
    if found.expires_at is not None and found.expires_at <= utcnow():
        return None
    principal = session.get(Principal, found.principal_id)
    return principal if principal is not None and principal.is_active else None


# Refusals record nothing else, so they are group-committed on their own (audit.group_commit): a flood of
# them costs a transaction per batch, and they stay recorded whatever happens to the refused request.
def record_denial(*, principal_id: uuid.UUID | None, what: str, reason: str) -> None:
    group_commit.record(
        engine(),
        event_type=events.AUTH_PERMISSION_DENIED,
        actor=actor(principal_id),
        payload={"what": what, "reason": reason},
    )


def record_failed_authentication(*, channel: str, reason: str) -> None:
    group_commit.record(
        engine(),
        event_type=events.AUTH_FAILED,
        actor=events.SYSTEM_ACTOR,
        channel=channel,
        payload={"reason": reason},
    )
