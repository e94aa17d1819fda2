"""Database engine, sessions and the declarative base shared by every table.

Transactions belong to the caller: services only `flush()`; `session_scope()` (a request, a task, a CLI
command) commits or rolls back."""

from __future__ import annotations

import contextlib
import functools
import re
import time
from collections.abc import Callable, Iterator
from datetime import UTC, datetime
from typing import TypeVar

import psycopg
from psycopg import sql
from sqlalchemy import MetaData, create_engine, text
from sqlalchemy.engine import Engine, make_url
from sqlalchemy.orm import DeclarativeBase, Session, sessionmaker

from app.core.errors import ConfigurationError, Timeout
from app.core.settings import get_settings

T = TypeVar("T")

NAMING_CONVENTION = {
    "ix": "ix_%(column_0_label)s",
    "uq": "uq_%(table_name)s_%(column_0_name)s",
    "ck": "ck_%(table_name)s_%(constraint_name)s",
    "fk": "fk_%(table_name)s_%(column_0_name)s_%(referred_table_name)s",
    "pk": "pk_%(table_name)s",
}


class Base(DeclarativeBase):
    metadata = MetaData(naming_convention=NAMING_CONVENTION)


def utcnow() -> datetime:
    return datetime.now(UTC)


def sqlalchemy_url(url: str) -> str:
    """`postgresql://...` (what psql takes) → the psycopg 3 driver URL SQLAlchemy needs."""
    parsed = make_url(url)
    if parsed.drivername in ("postgresql", "postgres"):
        parsed = parsed.set(drivername="postgresql+psycopg")
    return parsed.render_as_string(hide_password=False)


def libpq_url(url: str) -> str:
    """A driver URL → the plain `postgresql://` form libpq (psql, psycopg.connect) takes."""
    return make_url(url).set(drivername="postgresql").render_as_string(hide_password=False)


_ROLE_NAME = re.compile(r"^[a-z_][a-z0-9_]{0,62}$")


def session_role_options() -> dict[str, str]:
    """libpq options that make a connection run as the restricted application role.

    The role is set at connection start (`-c role=...`), so it is also what `RESET ROLE` returns to; only
    the migrations (and test fixtures) connect as the owner."""
    role = get_settings().audit.session_role
    if not role:
        return {}
    if not _ROLE_NAME.match(role):
        raise ConfigurationError(f"PLINTH_AUDIT_SESSION_ROLE {role!r} is not a plain lower-case role name")
    return {"options": f"-c role={role}"}


@functools.cache
def _engine_for(url: str) -> Engine:
    return create_engine(
        sqlalchemy_url(url),
        pool_pre_ping=True,
        pool_size=10,
        max_overflow=20,
        connect_args={"connect_timeout": 5, "application_name": "plinth", **session_role_options()},
    )


def engine() -> Engine:
    return _engine_for(get_settings().require_database_url())


def dispose_engines() -> None:
    """Drop pooled connections (after fork, or when the settings change under tests)."""
    for cached in (_engine_for, _session_factory):
        cached.cache_clear()


@functools.cache
def _session_factory(url: str) -> sessionmaker[Session]:
    return sessionmaker(bind=_engine_for(url), expire_on_commit=False)


def new_session() -> Session:
    return _session_factory(get_settings().require_database_url())()


@contextlib.contextmanager
def session_scope() -> Iterator[Session]:
    """A unit of work: commit on success, roll back on any exception."""
    session = new_session()
    try:
        yield session
        session.commit()
    except BaseException:
        session.rollback()
        raise
    finally:
        session.close()


def notify(session: Session, channel: str, payload: str) -> None:
    """Queue a NOTIFY that PostgreSQL delivers when (and only if) the transaction commits."""
    session.execute(text("SELECT pg_notify(:channel, :payload)"), {"channel": channel, "payload": payload})


def wait_for(channel: str, check: Callable[[], T | None], timeout_s: float) -> T:
    """Wait until `check()` returns a value, re-checking whenever a NOTIFY arrives on `channel`.

    LISTEN starts before the first check, so a notification sent between the check and the wait is
    not missed; a re-check at least every second covers a lost connection."""
    url = libpq_url(get_settings().require_database_url())
    deadline = time.monotonic() + timeout_s
    with psycopg.connect(url, autocommit=True, options=session_role_options().get("options", "")) as conn:
        conn.execute(sql.SQL("LISTEN {}").format(sql.Identifier(channel)))
        while True:
            found = check()
            if found is not None:
                return found
            remaining = deadline - time.monotonic()
            if remaining <= 0:
                raise Timeout(f"no result within {timeout_s:.0f} s")
            for _ in conn.notifies(timeout=min(remaining, 1.0), stop_after=1):
                pass
