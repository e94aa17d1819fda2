"""An OpenID Connect provider for tests, speaking the real protocol over HTTP: discovery, an authorize
page where a person picks who they are, the token endpoint (authorization code, PKCE S256, single-use
codes, client authentication), JWKS and userinfo. ID tokens are RS256 JWTs signed with joserfc (the JOSE
library under authlib); PKCE is checked with authlib's own S256 implementation.

`tamper` makes the next ID tokens wrong in one chosen way, for the negative tests."""

from __future__ import annotations

import base64
import html
import json
import secrets
import threading
import time
from dataclasses import dataclass, field
from typing import Any, Literal
from urllib.parse import urlencode

import uvicorn
from authlib.oauth2.rfc7636 import create_s256_code_challenge
from fastapi import FastAPI, Form, Request
from fastapi.responses import HTMLResponse, JSONResponse, RedirectResponse, Response
from joserfc import jwt
from joserfc.jwk import RSAKey

Tamper = Literal["aud", "iss", "nonce", "alg_none", "wrong_key", "expired", "hs256"] | None


@dataclass
class Grant:
    client_id: str
    redirect_uri: str
    challenge: str
    nonce: str | None
    subject: str
    issued_at: float
    used: bool = False


@dataclass
class ProviderState:
    client_id: str = "plinth-console"
    client_secret: str = field(default_factory=lambda: secrets.token_urlsafe(24))
    redirect_uris: set[str] = field(default_factory=set)
    users: dict[str, dict[str, Any]] = field(default_factory=dict)  # subject -> claims
    codes: dict[str, Grant] = field(default_factory=dict)
    access_tokens: dict[str, str] = field(default_factory=dict)  # token -> subject
    tamper: Tamper = None
    token_requests: int = 0


def _b64(data: dict[str, Any]) -> str:
    return base64.urlsafe_b64encode(json.dumps(data).encode()).rstrip(b"=").decode()


def create_app(state: ProviderState, issuer: str, key: RSAKey, other_key: RSAKey) -> FastAPI:
    app = FastAPI()

    @app.get("/.well-known/openid-configuration")
    async def discovery() -> dict[str, Any]:
        return {
            "issuer": issuer,
            "authorization_endpoint": f"{issuer}/authorize",
            "token_endpoint": f"{issuer}/token",
            "jwks_uri": f"{issuer}/jwks",
            "userinfo_endpoint": f"{issuer}/userinfo",
            "response_types_supported": ["code"],
            "subject_types_supported": ["public"],
            "id_token_signing_alg_values_supported": ["RS256"],
            "code_challenge_methods_supported": ["S256"],
            "token_endpoint_auth_methods_supported": ["client_secret_basic", "client_secret_post"],
            "scopes_supported": ["openid", "email", "profile", "groups"],
        }

    @app.get("/jwks")
    async def jwks() -> dict[str, Any]:
        return {"keys": [key.as_dict(private=False)]}

    def _check_request(params: dict[str, str]) -> str | None:
        if params.get("client_id") != state.client_id:
            return "unknown client_id"
        if params.get("redirect_uri") not in state.redirect_uris:
            return "redirect_uri is not registered"
        if params.get("response_type") != "code":
            return "only response_type=code is supported"
        if params.get("code_challenge_method") != "S256" or not params.get("code_challenge"):
            return "PKCE with S256 is required"
        if "openid" not in params.get("scope", "").split():
            return "scope must include openid"
        return None

    @app.get("/authorize", response_class=HTMLResponse)
    async def authorize(request: Request) -> Response:
        params = dict(request.query_params)
        problem = _check_request(params)
        if problem:
            return HTMLResponse(f"<h1>Bad request</h1><p>{html.escape(problem)}</p>", status_code=400)
        hidden = "".join(
            f'<input type="hidden" name="{html.escape(k)}" value="{html.escape(v)}">'
            for k, v in params.items()
        )
        buttons = "".join(
            f'<button type="submit" name="subject" value="{html.escape(sub)}">'
            f"{html.escape(claims.get('name', sub))}</button>"
            for sub, claims in state.users.items()
        )
        return HTMLResponse(
            '<!doctype html><title>Test identity provider</title><link rel="icon" href="data:,">'
            f"<h1>Sign in</h1>"
            f'<form method="post" action="/authorize">{hidden}{buttons}</form>'
        )

    @app.post("/authorize")
    async def approve(request: Request) -> Response:
        params = {k: str(v) for k, v in (await request.form()).items()}
        problem = _check_request(params)
        subject = params.get("subject", "")
        if problem or subject not in state.users:
            return HTMLResponse(f"<p>{html.escape(problem or 'unknown user')}</p>", status_code=400)
        code = secrets.token_urlsafe(24)
        state.codes[code] = Grant(
            client_id=params["client_id"],
            redirect_uri=params["redirect_uri"],
            challenge=params["code_challenge"],
            nonce=params.get("nonce"),
            subject=subject,
            issued_at=time.time(),
        )
        query = {"code": code, **({"state": params["state"]} if "state" in params else {})}
        return RedirectResponse(f"{params['redirect_uri']}?{urlencode(query)}", status_code=302)

    def _error(error: str, status: int = 400) -> JSONResponse:
        return JSONResponse({"error": error}, status_code=status)

    def _id_token(grant: Grant, access_token: str) -> str:
        now = int(time.time())
        claims = {
            "iss": issuer,
            "sub": grant.subject,
            "aud": grant.client_id,
            "iat": now,
            "exp": now + 300,
            "auth_time": now,
            **({"nonce": grant.nonce} if grant.nonce else {}),
            **{
                k: v
                for k, v in state.users[grant.subject].items()
                if k in ("email", "email_verified", "name")
            },
            "groups": state.users[grant.subject].get("groups", []),
        }
        tamper = state.tamper
        if tamper == "aud":
            claims["aud"] = "someone-else"
        elif tamper == "iss":
            claims["iss"] = "https://evil.example"
        elif tamper == "nonce":
            claims["nonce"] = "not-the-nonce"
        elif tamper == "expired":
            claims["iat"], claims["exp"] = now - 7200, now - 3600
        if tamper == "alg_none":
            return f"{_b64({'alg': 'none', 'typ': 'JWT'})}.{_b64(claims)}."
        if tamper == "hs256":
            # Signed with the public key's bytes as an HMAC secret: the classic key-confusion attack.
            from joserfc.jwk import OctKey

            secret = OctKey.import_key(json.dumps(key.as_dict(private=False)).encode())
            return jwt.encode({"alg": "HS256", "kid": key.kid}, claims, secret)
        signer = other_key if tamper == "wrong_key" else key
        return jwt.encode({"alg": "RS256", "kid": key.kid, "typ": "JWT"}, claims, signer)

    @app.post("/token")
    async def token(
        *,
        request: Request,
        grant_type: str = Form(""),
        code: str = Form(""),
        redirect_uri: str = Form(""),
        code_verifier: str = Form(""),
        client_id: str = Form(""),
        client_secret: str = Form(""),
    ) -> JSONResponse:
        state.token_requests += 1
        auth = request.headers.get("authorization", "")
        if auth.startswith("Basic "):
            client_id, _, client_secret = base64.b64decode(auth[6:]).decode().partition(":")
        if client_id != state.client_id or not secrets.compare_digest(client_secret, state.client_secret):
            return _error("invalid_client", 401)
        if grant_type != "authorization_code":
            return _error("unsupported_grant_type")
        grant = state.codes.get(code)
        if grant is None or grant.used or time.time() - grant.issued_at > 60:
            if grant is not None:
                # A replayed code revokes what the first use issued (RFC 6749 §4.1.2).
                state.access_tokens = {t: s for t, s in state.access_tokens.items() if s != grant.subject}
            return _error("invalid_grant")
        grant.used = True
        if grant.redirect_uri != redirect_uri or grant.client_id != client_id:
            return _error("invalid_grant")
        if not code_verifier or create_s256_code_challenge(code_verifier) != grant.challenge:
            return _error("invalid_grant")
        access_token = secrets.token_urlsafe(24)
        state.access_tokens[access_token] = grant.subject
        return JSONResponse(
            {
                "access_token": access_token,
                "token_type": "Bearer",
                "expires_in": 300,
                "id_token": _id_token(grant, access_token),
                "scope": "openid email profile",
            },
            headers={"Cache-Control": "no-store"},
        )

    @app.get("/userinfo")
    async def userinfo(request: Request) -> JSONResponse:
        auth = request.headers.get("authorization", "")
        subject = state.access_tokens.get(auth.removeprefix("Bearer ").strip())
        if subject is None:
            return _error("invalid_token", 401)
        return JSONResponse({"sub": subject, **state.users[subject]})

    return app


class OidcProvider:
    """Runs the provider in a background thread on a free port, as http://localhost:PORT."""

    def __init__(self) -> None:
        self.state = ProviderState()
        self._key = RSAKey.generate_key(2048, parameters={"kid": "test-key-1"})
        self._other_key = RSAKey.generate_key(2048, parameters={"kid": "test-key-1"})
        self._server: uvicorn.Server | None = None
        self._thread: threading.Thread | None = None
        self.issuer = ""

    def start(self) -> OidcProvider:
        import socket

        with socket.socket() as probe:
            probe.bind(("127.0.0.1", 0))
            port = probe.getsockname()[1]
        self.issuer = f"http://localhost:{port}"
        app = create_app(self.state, self.issuer, self._key, self._other_key)
        self._server = uvicorn.Server(uvicorn.Config(app, host="127.0.0.1", port=port, log_level="warning"))
        self._thread = threading.Thread(target=self._server.run, daemon=True)
        self._thread.start()
        deadline = time.monotonic() + 10
        while not self._server.started:
            if time.monotonic() > deadline:
                raise RuntimeError("test OIDC provider did not start")
            time.sleep(0.02)
        return self

    def stop(self) -> None:
        if self._server is not None and self._thread is not None:
            self._server.should_exit = True
            self._thread.join(timeout=10)

    def add_user(self, subject: str, **claims: Any) -> None:
        self.state.users[subject] = claims

    def env(self, redirect_base: str) -> dict[str, str]:
        """The console settings that point at this provider, for a console served at `redirect_base`."""
        self.state.redirect_uris.add(f"{redirect_base}/auth/callback")
        return {
            "PLINTH_CONSOLE_OIDC_ISSUER": self.issuer,
            "PLINTH_CONSOLE_OIDC_CLIENT_ID": self.state.client_id,
            "PLINTH_CONSOLE_OIDC_CLIENT_SECRET": self.state.client_secret,
        }
