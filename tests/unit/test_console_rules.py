from __future__ import annotations

import pytest
from starlette.requests import Request

from app.console import transport
from app.console.claims import claim_values, roles_for
from app.console.signin import _safe_next
from app.core.settings.front_ends import RoleRule
from tests.conftest import Env

RULES = [
    RoleRule(claim="groups", value="plinth-admins", role="admin"),
    RoleRule(claim="realm_access.roles", value="audit-*", role="compliance"),
    RoleRule(claim="department", value="finance", role="viewer"),
]


def test_rules_match_lists_strings_nested_claims_and_patterns() -> None:
    claims = {
        "groups": ["staff", "plinth-admins"],
        "realm_access": {"roles": ["audit-emea"]},
        "department": "finance",
    }
    assert roles_for(claims, RULES) == ["admin", "compliance", "viewer"]
    assert roles_for({"groups": "plinth-admins"}, RULES) == ["admin"]
    assert roles_for({"groups": ["Plinth-Admins"], "realm_access": "audit-x"}, RULES) == []
    assert roles_for({}, RULES) == []


def test_claim_values_ignore_what_is_not_text() -> None:
    assert claim_values({"groups": ["a", 1, None, "b"]}, "groups") == ["a", "b"]
    assert claim_values({"groups": {"a": 1}}, "groups") == []
    assert claim_values({"a": {"b": {"c": "x"}}}, "a.b.c") == ["x"]


@pytest.mark.parametrize(
    ("given", "safe"),
    [
        ("/corrections?status=all", "/corrections?status=all"),
        ("//evil.example/x", "/"),
        ("https://evil.example", "/"),
        ("/\\evil.example", "/"),
        ("", "/"),
        (None, "/"),
    ],
)
def test_next_is_a_path_on_the_console(given: str | None, safe: str) -> None:
    assert _safe_next(given) == safe


def _request(scheme: str, host: str) -> Request:
    return Request(
        {
            "type": "http",
            "scheme": scheme,
            "server": (host, 80),
            "path": "/",
            "headers": [(b"host", host.encode())],
        }
    )


@pytest.mark.parametrize(
    ("scheme", "host", "works"),
    [
        ("https", "console.example", True),
        ("http", "127.0.0.1", True),
        ("http", "localhost", True),
        ("http", "[::1]", True),
        ("http", "console.example", False),
        ("http", "10.0.0.5", False),
    ],
)
def test_secure_cookies_work_over_https_and_on_loopback_only(
    env: Env, scheme: str, host: str, works: bool
) -> None:
    assert transport.cookies_can_work(_request(scheme, host)) is works


def test_public_url_decides_the_origin(env: Env) -> None:
    env.set(PLINTH_CONSOLE_PUBLIC_URL="https://plinth.example.com/")
    request = _request("http", "10.0.0.5")
    assert transport.origin_of(request) == "https://plinth.example.com"
    assert transport.is_https(request)
