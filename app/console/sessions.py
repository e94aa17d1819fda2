"""The server-side session store and the sign-ins in progress, in PostgreSQL.

The browser holds only random values; the database holds their SHA-256 digests. A session ends at logout,
after `session_idle_minutes` without a request, or `session_absolute_hours` after sign-in, whichever
comes first; an ended session is never revived."""

from __future__ import annotations

import hashlib
import secrets
import uuid
from dataclasses import dataclass
from datetime import timedelta

from sqlalchemy import delete, select
from sqlalchemy.orm import Session

from app.console.models import ConsoleLogin, ConsoleSession
from app.core.db import utcnow
from app.core.errors import Unauthenticated
from app.core.settings import get_settings

# Writing last_seen_at on every request would turn each page view into a write; a minute is precise
# enough for a timeout counted in minutes.
_TOUCH_EVERY = timedelta(seconds=60)


def digest(value: str) -> str:
    return hashlib.sha256(value.encode()).hexdigest()


@dataclass(frozen=True)
class LoginStart:
    state: str
    binding: str  # the value of the login cookie
    nonce: str
    code_verifier: str


def open_session(
    session: Session,
    *,
    principal_id: uuid.UUID,
    auth_method: str,
    client_ip: str | None,
    user_agent: str | None,
    replaces: str | None,
) -> tuple[ConsoleSession, str]:
    """A new session (and its cookie value) for a principal who just signed in. Any session the browser
    still carried is ended: the id always changes at sign-in."""
    if replaces:
        close(session, token=replaces, reason="replaced")
    token = secrets.token_urlsafe(32)
    now = utcnow()
    row = ConsoleSession(
        token_sha256=digest(token),
        principal_id=principal_id,
        csrf_token=secrets.token_urlsafe(32),
        auth_method=auth_method,
        created_at=now,
        last_seen_at=now,
        expires_at=now + timedelta(hours=get_settings().console.session_absolute_hours),
        client_ip=client_ip,
        user_agent=(user_agent or "")[:500] or None,
    )
    session.add(row)
    session.flush()
    return row, token


def load(session: Session, *, token: str) -> ConsoleSession | None:
    """The live session this cookie value names, its idle clock restarted; None (and the session ended,
    if it timed out) otherwise."""
    row = session.scalar(select(ConsoleSession).where(ConsoleSession.token_sha256 == digest(token)))
    if row is None or row.ended_at is not None:
        return None
    now = utcnow()
    idle = timedelta(minutes=get_settings().console.session_idle_minutes)
    if now >= row.expires_at or now - row.last_seen_at >= idle:
        row.ended_at, row.end_reason = now, "expired" if now >= row.expires_at else "idle"
        session.flush()
        return None
    if now - row.last_seen_at >= _TOUCH_EVERY:
        row.last_seen_at = now
        session.flush()
    return row


def close(session: Session, *, token: str, reason: str) -> ConsoleSession | None:
    row = session.scalar(select(ConsoleSession).where(ConsoleSession.token_sha256 == digest(token)))
    if row is not None and row.ended_at is None:
        row.ended_at, row.end_reason = utcnow(), reason
        session.flush()
    return row


def begin_login(session: Session, *, next_path: str) -> LoginStart:
    """Remember a sign-in that starts now; the state, nonce and PKCE verifier are single-use."""
    timeout = timedelta(seconds=get_settings().console.login_timeout_s)
    session.execute(delete(ConsoleLogin).where(ConsoleLogin.created_at < utcnow() - 2 * timeout))
    start = LoginStart(
        state=secrets.token_urlsafe(32),
        binding=secrets.token_urlsafe(32),
        nonce=secrets.token_urlsafe(32),
        code_verifier=secrets.token_urlsafe(64),
    )
    session.add(
        ConsoleLogin(
            state_sha256=digest(start.state),
            binding_sha256=digest(start.binding),
            nonce=start.nonce,
            code_verifier=start.code_verifier,
            next_path=next_path,
        )
    )
    session.flush()
    return start


def finish_login(session: Session, *, state: str | None, binding: str | None) -> ConsoleLogin:
    """Consume the sign-in this state names. Refused: no state, an unknown or used one, one too old, or
    one started in another browser."""
    if not state:
        raise Unauthenticated("the sign-in response carries no state")
    row = session.scalar(
        select(ConsoleLogin).where(ConsoleLogin.state_sha256 == digest(state)).with_for_update()
    )
    if row is None:
        raise Unauthenticated("the sign-in response carries an unknown state")
    if row.used_at is not None:
        raise Unauthenticated("this sign-in was already completed")
    row.used_at = utcnow()
    session.flush()
    if not binding or not secrets.compare_digest(digest(binding), row.binding_sha256):
        raise Unauthenticated("this sign-in was started in another browser")
    if utcnow() - row.created_at > timedelta(seconds=get_settings().console.login_timeout_s):
        raise Unauthenticated("the sign-in took too long; start again")
    return row
