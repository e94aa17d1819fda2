"""Principals behind single sign-on subjects: an OIDC (issuer, subject) is linked to one principal, found
by a verified email address the first time, or created."""

from __future__ import annotations

import hashlib

from sqlalchemy import select
from sqlalchemy.orm import Session

from app.domains.principals.models import ExternalIdentity, Principal
from app.domains.principals.service import actor, find_by_email
from audit import events
from audit import store as audit_store

OIDC_PROVIDER = "oidc"


def _new_handle(session: Session, *, issuer: str, subject: str, email: str | None) -> str:
    if email and session.scalar(select(Principal.id).where(Principal.handle == email)) is None:
        return email
    # Subjects may hold any characters and repeat across issuers: a digest of both is a safe handle.
    return "oidc-" + hashlib.sha256(f"{issuer}\n{subject}".encode()).hexdigest()[:20]


def principal_for_oidc(
    session: Session,
    *,
    issuer: str,
    subject: str,
    email: str | None,
    email_verified: bool,
    name: str | None,
) -> Principal:
    """The principal this subject signs in as. An unverified email address is never used to find an
    existing principal (anyone can claim any address at some providers) nor stored."""
    identity = session.scalar(
        select(ExternalIdentity).where(
            ExternalIdentity.provider == OIDC_PROVIDER,
            ExternalIdentity.namespace == issuer,
            ExternalIdentity.external_id == subject,
        )
    )
    if identity is not None:
        principal = session.get(Principal, identity.principal_id)
        assert principal is not None
        return principal
    verified = email.strip().lower() if email and email_verified else None
    principal = find_by_email(session, email=verified) if verified else None
    how = "verified email" if principal is not None else "new principal"
    if principal is None:
        handle = _new_handle(session, issuer=issuer, subject=subject, email=verified)
        principal = Principal(handle=handle, display_name=name or handle, email=verified, groups=[])
        session.add(principal)
        session.flush()
    session.add(
        ExternalIdentity(
            principal_id=principal.id, provider=OIDC_PROVIDER, namespace=issuer, external_id=subject
        )
    )
    audit_store.append(
        session,
        event_type=events.AUTH_IDENTITY_LINKED,
        actor=actor(principal.id),
        channel="console",
        subject=f"principal:{principal.id}",
        payload={"provider": OIDC_PROVIDER, "issuer": issuer, "subject": subject, "linked_by": how},
    )
    session.flush()
    return principal
