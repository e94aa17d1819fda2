"""Driving the console over HTTP like a browser would, for tests: the console app in process (its own
ASGI transport), the identity provider over real sockets. Cookies are kept by hand: `__Host-` cookies
are `Secure`, which Python's cookie jar would hold back from the in-process https://testserver."""

from __future__ import annotations

from dataclasses import dataclass, field
from http.cookies import SimpleCookie
from urllib.parse import parse_qs, urlparse

import httpx
from fastapi.testclient import TestClient

from app.api.factory import create_app
from tests.fakes.oidc_provider import OidcProvider
from tests.support import console as data

CONSOLE = "https://testserver"


@dataclass
class Browser:
    client: TestClient
    cookies: dict[str, str] = field(default_factory=dict)
    set_cookie_headers: list[str] = field(default_factory=list)

    def _keep(self, response: httpx.Response) -> httpx.Response:
        for header in response.headers.get_list("set-cookie"):
            self.set_cookie_headers.append(header)
            for name, morsel in SimpleCookie(header).items():
                if morsel["max-age"] == "0" or morsel.value == "":
                    self.cookies.pop(name, None)
                else:
                    self.cookies[name] = morsel.value
        return response

    def _cookie_header(self) -> dict[str, str]:
        return {"cookie": "; ".join(f"{k}={v}" for k, v in self.cookies.items())} if self.cookies else {}

    def get(self, path: str, **kwargs: object) -> httpx.Response:
        headers = {**self._cookie_header(), **kwargs.pop("headers", {})}  # type: ignore[dict-item]
        return self._keep(self.client.get(path, headers=headers, follow_redirects=False, **kwargs))  # type: ignore[arg-type]

    def post(self, path: str, **kwargs: object) -> httpx.Response:
        headers = {**self._cookie_header(), **kwargs.pop("headers", {})}  # type: ignore[dict-item]
        return self._keep(self.client.post(path, headers=headers, follow_redirects=False, **kwargs))  # type: ignore[arg-type]


def browser() -> Browser:
    return Browser(TestClient(create_app(), base_url=CONSOLE))


def authorize(provider: OidcProvider, authorize_url: str, subject: str) -> str:
    """Act at the provider as the person `subject`: the callback path (with query) it redirects to."""
    page = httpx.get(authorize_url)
    assert page.status_code == 200, page.text
    params = {k: v[0] for k, v in parse_qs(urlparse(authorize_url).query).items()}
    redirect = httpx.post(f"{provider.issuer}/authorize", data={**params, "subject": subject})
    assert redirect.status_code == 302, redirect.text
    target = urlparse(redirect.headers["location"])
    return f"{target.path}?{target.query}"


def start_sign_in(b: Browser, next_path: str = "/") -> str:
    """Begin at the console; the provider URL it sends the browser to."""
    started = b.get(f"/login/oidc?next={next_path}")
    assert started.status_code == 303, started.text
    return started.headers["location"]


def sign_in(b: Browser, provider: OidcProvider, subject: str) -> httpx.Response:
    return b.get(authorize(provider, start_sign_in(b), subject))


def signed_in(handle: str, roles: list[str]) -> tuple[Browser, str, data.Person]:
    """A browser holding a fresh console session of a new person with these roles, and its CSRF token."""
    person = data.person(handle, roles)
    cookie, csrf = data.console_session(person.id)
    b = browser()
    b.cookies["__Host-plinth_session"] = cookie
    return b, csrf, person
