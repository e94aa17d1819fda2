"""The break-glass local admin: `plinth admin create`, signing in with it, and it staying off while single
sign-on is configured unless explicitly allowed."""

from __future__ import annotations

import subprocess
import sys

import pytest
from sqlalchemy import select

from app.core.db import session_scope
from app.core.errors import InvalidInput
from app.domains.principals import local_accounts
from app.domains.principals import service as principals
from app.domains.principals.models import LocalCredential
from audit.models import AuditEvent
from tests.conftest import Env
from tests.integration.console_client import Browser, browser
from tests.support.processes import REPO, plinth_env, run_cli

PASSWORD = "correct horse battery staple"


def _local_sign_in(b: Browser, email: str, password: str) -> int:
    page = b.get("/login?next=/users")
    assert page.status_code == 200
    state = page.text.split('name="state" value="')[1].split('"')[0]
    return b.post("/login/local", data={"email": email, "password": password, "state": state}).status_code


def test_admin_create_hashes_with_argon2_and_prompts_when_the_password_is_omitted(
    database_url: str, env: Env
) -> None:
    created = run_cli(
        "admin",
        "create",
        "--email",
        "Root@Example.com",
        "--password",
        PASSWORD,
        env=plinth_env(env.as_dict()),
    )
    assert created.returncode == 0, created.stderr
    assert created.stdout.strip() == "local admin root@example.com created"
    # Without --password it prompts twice (hidden input, confirmation).
    prompted = subprocess.run(
        [sys.executable, "-m", "app.cli", "admin", "create", "--email", "root@example.com"],
        env=plinth_env(env.as_dict()),
        cwd=REPO,
        input=f"{PASSWORD}2\n{PASSWORD}2\n",
        capture_output=True,
        text=True,
        timeout=300,
        check=False,
    )
    assert prompted.returncode == 0, prompted.stderr
    assert "given a new password" in prompted.stdout
    with pytest.raises(InvalidInput, match="at least 12 characters"), session_scope() as session:
        local_accounts.set_admin(session, email="x@example.com", password="short")
    with session_scope() as session:
        principal = principals.find_by_email(session, email="root@example.com")
        assert principal is not None
        assert principal.roles == ["admin"]
        credential = session.get(LocalCredential, principal.id)
        assert credential is not None
        assert credential.password_hash.startswith("$argon2id$")
        assert PASSWORD not in credential.password_hash
        events = [
            e.payload
            for e in session.scalars(
                select(AuditEvent).where(AuditEvent.event_type == "auth.local_admin_set")
            )
        ]
    assert events == [
        {"email": "root@example.com", "created": True},
        {"email": "root@example.com", "created": False},
    ]
    b = browser()
    assert _local_sign_in(b, "root@example.com", f"{PASSWORD}2") == 303
    assert b.get("/users").status_code == 200


def test_wrong_passwords_are_refused_and_audited(database_url: str, env: Env) -> None:
    with session_scope() as session:
        local_accounts.set_admin(session, email="root@example.com", password=PASSWORD)
    b = browser()
    assert _local_sign_in(b, "root@example.com", "wrong password!!") == 401
    assert _local_sign_in(b, "nobody@example.com", PASSWORD) == 401
    assert "__Host-plinth_session" not in b.cookies
    with session_scope() as session:
        reasons = [
            e.payload["reason"]
            for e in session.scalars(select(AuditEvent).where(AuditEvent.event_type == "auth.failed"))
        ]
    assert reasons == [
        "wrong email address or password (root@example.com)",
        "wrong email address or password (nobody@example.com)",
    ]


def test_local_sign_in_is_off_while_oidc_is_configured_unless_allowed(database_url: str, env: Env) -> None:
    with session_scope() as session:
        local_accounts.set_admin(session, email="root@example.com", password=PASSWORD)
    env.set(PLINTH_CONSOLE_OIDC_ISSUER="https://idp.example", PLINTH_CONSOLE_OIDC_CLIENT_ID="plinth")
    b = browser()
    page = b.get("/login")
    assert 'id="local-login"' not in page.text
    refused = b.post("/login/local", data={"email": "root@example.com", "password": PASSWORD, "state": "x"})
    assert refused.status_code == 403
    assert "local sign-in is disabled" in refused.text
    env.set(PLINTH_CONSOLE_ALLOW_LOCAL_LOGIN="true")
    assert _local_sign_in(browser(), "root@example.com", PASSWORD) == 303
