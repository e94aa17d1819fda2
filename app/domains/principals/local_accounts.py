"""Break-glass local accounts: an email address and an argon2id password hash, for signing in to the
console when no identity provider is configured (or it is down and local sign-in is allowed)."""

from __future__ import annotations

import argon2
from sqlalchemy.orm import Session

from app.core.db import utcnow
from app.core.errors import InvalidInput
from app.domains.principals.models import LocalCredential, Principal
from app.domains.principals.service import ensure_local, find_by_email, set_roles
from audit import events
from audit import store as audit_store

MIN_PASSWORD_CHARS = 12
_hasher = argon2.PasswordHasher()
# Verified against when the account does not exist, so an unknown address costs as long as a known one.
_DUMMY_HASH = _hasher.hash("no such account, just spending the same time")


def set_admin(session: Session, *, email: str, password: str) -> tuple[Principal, bool]:
    """Create the local admin with this email (or give it a new password); True when created."""
    address = email.strip().lower()
    if "@" not in address:
        raise InvalidInput(f"{email!r} is not an email address")
    if len(password) < MIN_PASSWORD_CHARS:
        raise InvalidInput(f"the password needs at least {MIN_PASSWORD_CHARS} characters")
    principal = find_by_email(session, email=address) or ensure_local(session, handle=address)
    principal.email = address
    if "admin" not in principal.roles:
        set_roles(session, principal=principal, roles=[*principal.roles, "admin"], by=None)
    credential = session.get(LocalCredential, principal.id)
    created = credential is None
    if credential is None:
        credential = LocalCredential(principal_id=principal.id, password_hash="")
        session.add(credential)
    credential.password_hash = _hasher.hash(password)
    credential.updated_at = utcnow()
    audit_store.append(
        session,
        event_type=events.AUTH_LOCAL_ADMIN_SET,
        actor=events.SYSTEM_ACTOR,
        channel="cli",
        subject=f"principal:{principal.id}",
        payload={"email": address, "created": created},
    )
    session.flush()
    return principal, created


def verify(session: Session, *, email: str, password: str) -> Principal | None:
    """The active principal whose local password this is, else None."""
    principal = find_by_email(session, email=email)
    credential = session.get(LocalCredential, principal.id) if principal is not None else None
    try:
        _hasher.verify(credential.password_hash if credential else _DUMMY_HASH, password)
    except argon2.exceptions.VerificationError:
        return None
    if credential is None or principal is None or not principal.is_active:
        return None
    if _hasher.check_needs_rehash(credential.password_hash):
        credential.password_hash = _hasher.hash(password)
        session.flush()
    return principal
