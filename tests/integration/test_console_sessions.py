"""The server-side session store: idle and absolute timeouts, ended sessions staying ended, and sign-ins
in progress that are single-use, bound to one browser and short-lived."""

from __future__ import annotations

from datetime import timedelta

import pytest
from sqlalchemy import select, update

from app.console import sessions
from app.console.models import ConsoleLogin, ConsoleSession
from app.core.db import session_scope, utcnow
from app.core.errors import Unauthenticated
from tests.conftest import Env
from tests.integration.console_client import browser
from tests.support import console as data


def _age(**changes: object) -> None:
    with session_scope() as session:
        session.execute(update(ConsoleSession).values(**changes))


def _load(token: str) -> ConsoleSession | None:
    with session_scope() as session:
        return sessions.load(session, token=token)


def test_idle_timeout_ends_the_session(database_url: str, env: Env) -> None:
    env.set(PLINTH_CONSOLE_SESSION_IDLE_MINUTES="30")
    person = data.person("ada@example.com", ["viewer"])
    token, _ = data.console_session(person.id)
    assert _load(token) is not None
    _age(last_seen_at=utcnow() - timedelta(minutes=29))
    assert _load(token) is not None  # activity restarts the idle clock
    _age(last_seen_at=utcnow() - timedelta(minutes=31))
    assert _load(token) is None
    _age(last_seen_at=utcnow())
    assert _load(token) is None  # an ended session is never revived
    with session_scope() as session:
        assert session.scalar(select(ConsoleSession.end_reason)) == "idle"


def test_absolute_timeout_ends_even_an_active_session(database_url: str, env: Env) -> None:
    person = data.person("ada@example.com", ["viewer"])
    token, _ = data.console_session(person.id)
    _age(expires_at=utcnow() - timedelta(seconds=1))
    assert _load(token) is None
    with session_scope() as session:
        assert session.scalar(select(ConsoleSession.end_reason)) == "expired"
    b = browser()
    b.cookies["__Host-plinth_session"] = token
    assert b.get("/").headers["location"] == "/login?next=%2F"


def test_the_browser_holds_only_a_random_value_the_database_its_digest(database_url: str) -> None:
    person = data.person("ada@example.com", ["viewer"])
    token, _ = data.console_session(person.id)
    with session_scope() as session:
        stored = session.scalar(select(ConsoleSession.token_sha256))
    assert stored == sessions.digest(token)
    assert token not in (stored or "")


def test_a_sign_in_in_progress_is_single_use_bound_and_short_lived(database_url: str, env: Env) -> None:
    with session_scope() as session:
        start = sessions.begin_login(session, next_path="/")
    with pytest.raises(Unauthenticated, match="another browser"), session_scope() as session:
        sessions.finish_login(session, state=start.state, binding="someone else's")
    with session_scope() as session:
        start = sessions.begin_login(session, next_path="/x")
    with session_scope() as session:
        assert sessions.finish_login(session, state=start.state, binding=start.binding).next_path == "/x"
    with pytest.raises(Unauthenticated, match="already completed"), session_scope() as session:
        sessions.finish_login(session, state=start.state, binding=start.binding)
    with session_scope() as session:
        late = sessions.begin_login(session, next_path="/")
        session.execute(
            update(ConsoleLogin)
            .where(ConsoleLogin.state_sha256 == sessions.digest(late.state))
            .values(created_at=utcnow() - timedelta(hours=1))
        )
    with pytest.raises(Unauthenticated, match="took too long"), session_scope() as session:
        sessions.finish_login(session, state=late.state, binding=late.binding)
