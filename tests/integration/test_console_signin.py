"""Signing in to the console through a real OIDC provider (over HTTP), and every way a sign-in must fail."""

from __future__ import annotations

import json
from collections.abc import Iterator
from urllib.parse import parse_qs, urlparse

import pytest
from sqlalchemy import select

from app.console.models import ConsoleSession
from app.core.db import session_scope
from app.domains.principals import service as principals
from app.domains.principals.models import ExternalIdentity, Principal
from audit.models import AuditEvent
from tests.conftest import Env
from tests.fakes.oidc_provider import OidcProvider
from tests.integration.console_client import CONSOLE, authorize, browser, sign_in, start_sign_in

RULES = [
    {"claim": "groups", "value": "plinth-admins", "role": "admin"},
    {"claim": "groups", "value": "audit-*", "role": "compliance"},
]


@pytest.fixture(scope="module")
def provider() -> Iterator[OidcProvider]:
    idp = OidcProvider().start()
    idp.add_user(
        "sub-ada", email="ada@example.com", email_verified=True, name="Ada", groups=["plinth-admins"]
    )
    idp.add_user("sub-cy", email="cy@example.com", email_verified=True, name="Cy", groups=["audit-team"])
    idp.add_user("sub-eve", email="boss@example.com", email_verified=False, name="Eve", groups=["staff"])
    idp.add_user("sub-nobody", email="nobody@example.com", email_verified=True, name="No One", groups=[])
    yield idp
    idp.stop()


@pytest.fixture
def console(database_url: str, env: Env, provider: OidcProvider) -> OidcProvider:
    env.set(**provider.env(CONSOLE), PLINTH_CONSOLE_ROLE_RULES=json.dumps(RULES))
    provider.state.tamper = None
    return provider


def _events(event_type: str) -> list[AuditEvent]:
    with session_scope() as session:
        return list(session.scalars(select(AuditEvent).where(AuditEvent.event_type == event_type)))


def test_sign_in_maps_roles_links_the_subject_and_sets_a_host_cookie(console: OidcProvider) -> None:
    b = browser()
    assert b.get("/").headers["location"] == "/login?next=%2F"
    authorize_url = start_sign_in(b, "/corrections")
    query = parse_qs(urlparse(authorize_url).query)
    assert query["code_challenge_method"] == ["S256"]
    assert all(query[k][0] for k in ("nonce", "state", "code_challenge"))
    assert "code_verifier" not in query
    done = b.get(authorize(console, authorize_url, "sub-ada"))
    assert done.status_code == 303, done.text
    assert done.headers["location"] == "/corrections"
    session_cookie = next(h for h in b.set_cookie_headers if h.startswith("__Host-plinth_session="))
    attributes = {part.strip().lower() for part in session_cookie.split(";")}
    assert {"secure", "httponly", "path=/", "samesite=lax"} <= attributes
    assert not any(a.startswith("domain=") for a in attributes)

    me = b.get("/api/v1/me").json()
    assert me["handle"] == "ada@example.com"
    assert me["roles"] == ["admin"]
    with session_scope() as session:
        principal = principals.find_by_email(session, email="ada@example.com")
        assert principal is not None
        identity = session.scalar(
            select(ExternalIdentity).where(ExternalIdentity.principal_id == principal.id)
        )
        assert identity is not None
        assert (identity.provider, identity.namespace, identity.external_id) == (
            "oidc",
            console.issuer,
            "sub-ada",
        )
    [login] = _events("auth.login")
    assert login.payload["method"] == "oidc"
    assert len(_events("auth.identity_linked")) == 1


def test_verified_email_links_an_existing_principal_and_an_unverified_one_never_does(
    console: OidcProvider,
) -> None:
    with session_scope() as session:
        existing = principals.ensure_local(session, handle="cy@example.com")
        boss = principals.ensure_local(session, handle="boss@example.com")
        existing_id, boss_id = existing.id, boss.id
    assert sign_in(browser(), console, "sub-cy").status_code == 303
    # Eve claims boss@example.com without the provider having verified it: a new principal, no roles.
    refused = sign_in(browser(), console, "sub-eve")
    assert refused.status_code == 403
    with session_scope() as session:
        cy = principals.get(session, principal_id=existing_id)
        assert cy.roles == ["compliance"]
        links = {i.external_id: i.principal_id for i in session.scalars(select(ExternalIdentity))}
        assert links["sub-cy"] == existing_id
        assert links["sub-eve"] != boss_id
        eve = session.get(Principal, links["sub-eve"])
        assert eve is not None
        assert eve.email is None


def test_a_user_without_a_console_role_is_refused_and_audited(console: OidcProvider) -> None:
    refused = sign_in(browser(), console, "sub-nobody")
    assert refused.status_code == 403
    assert "holds no console role" in refused.text
    [denial] = _events("auth.permission_denied")
    assert denial.payload["what"] == "console sign-in"


def test_each_sign_in_gets_a_new_session_and_logout_ends_it_on_the_server(console: OidcProvider) -> None:
    b = browser()
    sign_in(b, console, "sub-ada")
    first = b.cookies["__Host-plinth_session"]
    sign_in(b, console, "sub-ada")
    second = b.cookies["__Host-plinth_session"]
    assert first != second
    with session_scope() as session:
        reasons = sorted(s.end_reason or "live" for s in session.scalars(select(ConsoleSession)))
    assert reasons == ["live", "replaced"]

    page = b.get("/")
    assert page.status_code == 200
    csrf = page.text.split('name="csrf_token" value="')[1].split('"')[0]
    assert b.post("/logout", data={"csrf_token": csrf}).headers["location"] == "/login?signed_out=1"
    assert "__Host-plinth_session" not in b.cookies
    # The old cookie, replayed, is dead on the server side too.
    b.cookies["__Host-plinth_session"] = second
    assert b.get("/").status_code == 303
    assert b.get("/api/v1/me").status_code == 401
    assert len(_events("auth.logout")) == 1


def _refused(response_status: int, reason: str) -> None:
    assert response_status == 401
    reasons = [e.payload["reason"] for e in _events("auth.failed")]
    assert any(reason in r for r in reasons), reasons


def test_missing_unknown_and_foreign_state_are_refused(console: OidcProvider) -> None:
    b = browser()
    callback = authorize(console, start_sign_in(b), "sub-ada")
    code = parse_qs(urlparse(callback).query)["code"][0]
    _refused(b.get(f"/auth/callback?code={code}").status_code, "carries no state")
    _refused(b.get(f"/auth/callback?code={code}&state=forged").status_code, "unknown state")
    # The right state, from a browser that did not start this sign-in (login CSRF).
    other = browser()
    _refused(other.get(callback).status_code, "started in another browser")
    assert "__Host-plinth_session" not in other.cookies


def test_a_replayed_callback_or_code_is_refused(console: OidcProvider) -> None:
    b = browser()
    callback = authorize(console, start_sign_in(b), "sub-ada")
    assert b.get(callback).status_code == 303
    _refused(b.get(callback).status_code, "already completed")
    # The same code under a fresh, valid state: the provider refuses a code used twice.
    code = parse_qs(urlparse(callback).query)["code"][0]
    fresh = parse_qs(urlparse(start_sign_in(b)).query)["state"][0]
    _refused(
        b.get(f"/auth/callback?code={code}&state={fresh}").status_code, "refused the code (invalid_grant)"
    )


@pytest.mark.parametrize(
    ("tamper", "reason"),
    [
        ("nonce", "nonce"),
        ("aud", "aud"),
        ("iss", "iss"),
        ("expired", "exp"),
        ("alg_none", "signature does not verify"),
        ("hs256", "signature does not verify"),
        ("wrong_key", "signature does not verify"),
    ],
)
def test_id_tokens_that_do_not_prove_the_sign_in_are_refused(
    console: OidcProvider, tamper: str, reason: str
) -> None:
    console.state.tamper = tamper  # type: ignore[assignment]
    b = browser()
    response = sign_in(b, console, "sub-ada")
    _refused(response.status_code, reason)
    assert "__Host-plinth_session" not in b.cookies
    assert b.get("/api/v1/me").status_code == 401


def test_provider_errors_are_refused(console: OidcProvider) -> None:
    b = browser()
    state = parse_qs(urlparse(start_sign_in(b)).query)["state"][0]
    _refused(b.get(f"/auth/callback?error=access_denied&state={state}").status_code, "access_denied")


def test_next_never_leaves_the_console(console: OidcProvider) -> None:
    b = browser()
    callback = authorize(console, start_sign_in(b, "//evil.example/x"), "sub-ada")
    assert b.get(callback).headers["location"] == "/"
