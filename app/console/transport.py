"""Where the console is served from, and the cookies it sets.

Cookies carry the `__Host-` prefix, which browsers accept only with `Secure`, `Path=/` and no `Domain`:
the cookie is bound to this exact host and cannot be planted by a sibling subdomain. Browsers treat
http://localhost and http://127.0.0.1 as secure contexts and keep `Secure` cookies from them, so plain
HTTP works on the loopback interface (development, `plinth up`); anywhere else the console must be served
over HTTPS (directly, or behind a proxy that sends X-Forwarded-Proto), and refuses to sign anyone in
over plain HTTP rather than send a session cookie in the clear."""

from __future__ import annotations

import ipaddress

from fastapi import Request, Response

from app.core.settings import get_settings

LOOPBACK_NAMES = frozenset({"localhost"})


def origin_of(request: Request) -> str:
    public = get_settings().console.public_url
    if public:
        return public.rstrip("/")
    return f"{request.url.scheme}://{request.url.netloc}"


def is_https(request: Request) -> bool:
    return origin_of(request).startswith("https://")


def _loopback(host: str) -> bool:
    host = host.strip("[]").lower()
    if host in LOOPBACK_NAMES or host.endswith(".localhost"):
        return True
    try:
        return ipaddress.ip_address(host).is_loopback
    except ValueError:
        return False


def cookies_can_work(request: Request) -> bool:
    """Whether a browser keeps a `Secure` cookie from this origin: HTTPS, or plain HTTP on loopback."""
    return is_https(request) or _loopback(request.url.hostname or "")


def url_for_path(request: Request, path: str) -> str:
    return origin_of(request) + path


def set_cookie(response: Response, name: str, value: str, *, max_age: int) -> None:
    response.set_cookie(name, value, max_age=max_age, path="/", secure=True, httponly=True, samesite="lax")


def clear_cookie(response: Response, name: str) -> None:
    response.delete_cookie(name, path="/", secure=True, httponly=True, samesite="lax")
