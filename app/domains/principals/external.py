"""Principals behind identities in other systems (a Slack user in a workspace): linked once, found by
the address that system vouches for the first time, or created."""

from __future__ import annotations

import hashlib
import uuid

from sqlalchemy import select
from sqlalchemy.exc import IntegrityError
from sqlalchemy.orm import Session

from app.domains.principals.models import ExternalIdentity, Principal
from app.domains.principals.service import actor, find_by_email, find_by_handle
from audit import events
from audit import store as audit_store


def linked_principal_id(
    session: Session, *, provider: str, namespace: str, external_id: str
) -> uuid.UUID | None:
    """The id of the principal already linked to this identity, if any (one indexed lookup, no call to
    the other system)."""
    return session.scalar(
        select(ExternalIdentity.principal_id).where(
            ExternalIdentity.provider == provider,
            ExternalIdentity.namespace == namespace,
            ExternalIdentity.external_id == external_id,
        )
    )


def linked_principal(
    session: Session, *, provider: str, namespace: str, external_id: str
) -> Principal | None:
    """The principal already linked to this identity, if any."""
    principal_id = linked_principal_id(
        session, provider=provider, namespace=namespace, external_id=external_id
    )
    return session.get(Principal, principal_id) if principal_id is not None else None


def link_principal(
    session: Session,
    *,
    provider: str,
    namespace: str,
    external_id: str,
    email: str | None,
    name: str | None,
) -> Principal:
    """Link the identity to the principal with this email address (the other system vouches for it), or
    to a new principal; audited. Returns the already linked principal when there is one."""
    existing = linked_principal(session, provider=provider, namespace=namespace, external_id=external_id)
    if existing is not None:
        return existing
    try:
        with session.begin_nested():
            return _link(
                session,
                provider=provider,
                namespace=namespace,
                external_id=external_id,
                email=email,
                name=name,
            )
    except IntegrityError:
        # Linked concurrently by another request about the same person.
        linked = linked_principal(session, provider=provider, namespace=namespace, external_id=external_id)
        if linked is None:
            raise
        return linked


def _link(
    session: Session, *, provider: str, namespace: str, external_id: str, email: str | None, name: str | None
) -> Principal:
    address = email.strip().lower() if email else None
    principal = find_by_email(session, email=address) if address else None
    how = "email" if principal is not None else "new principal"
    if principal is None:
        handle = address if address and find_by_handle(session, handle=address) is None else None
        handle = (
            handle or f"{provider}-" + hashlib.sha256(f"{namespace}\n{external_id}".encode()).hexdigest()[:20]
        )
        principal = Principal(handle=handle, display_name=name or handle, email=address, groups=[])
        session.add(principal)
        session.flush()
    session.add(
        ExternalIdentity(
            principal_id=principal.id, provider=provider, namespace=namespace, external_id=external_id
        )
    )
    audit_store.append(
        session,
        event_type=events.AUTH_IDENTITY_LINKED,
        actor=actor(principal.id),
        channel=provider,
        subject=f"principal:{principal.id}",
        payload={"provider": provider, "namespace": namespace, "external_id": external_id, "linked_by": how},
    )
    session.flush()
    return principal
