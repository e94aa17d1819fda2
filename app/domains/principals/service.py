"""Principals and the access grants they carry."""

from __future__ import annotations

import re
import uuid

from sqlalchemy import select
from sqlalchemy.orm import Session

from app.core.errors import InvalidInput, NotFound
from app.domains.principals.models import Principal

ORG_GRANT = "org"
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


def ensure_local(session: Session, *, handle: str, groups: list[str] | None = None) -> Principal:
    """The principal with this handle, created on first use (operators acting through the CLI or API)."""
    if not _HANDLE.match(handle):
        raise InvalidInput(f"invalid user handle {handle!r}: use letters, digits and . _ @ + -")
    principal = find_by_handle(session, handle=handle)
    if principal is None:
        principal = Principal(
            handle=handle,
            display_name=handle,
            email=handle if "@" in handle else None,
            groups=list(groups or []),
        )
        session.add(principal)
        session.flush()
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
