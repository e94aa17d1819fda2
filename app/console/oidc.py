"""OpenID Connect sign-in (authorization code flow with PKCE S256) against any standard provider.

authlib builds the authorization request and performs the token request; the ID token's signature is
checked with the provider's published keys (JWKS, from the discovery document) and only with asymmetric
algorithms the provider advertises, never `none` or a shared-secret HMAC; authlib's CodeIDToken then
checks issuer, audience, authorized party, expiry, issue time, nonce and the access-token hash."""

from __future__ import annotations

import threading
import time
from dataclasses import dataclass
from typing import Any

from authlib.integrations.httpx_client import OAuth2Client, OAuthError
from authlib.oidc.core import CodeIDToken
from joserfc import jwt
from joserfc.errors import InvalidKeyIdError, JoseError
from joserfc.jwk import KeySet

from app.core.errors import ConfigurationError, Unauthenticated, Unavailable
from app.core.settings import get_settings
from app.core.settings.front_ends import ConsoleSettings

SIGNING_ALGORITHMS = frozenset(
    {"RS256", "RS384", "RS512", "PS256", "PS384", "PS512", "ES256", "ES384", "ES512", "EdDSA"}
)
_METADATA_TTL_S = 3600.0
_CLOCK_LEEWAY_S = 60


@dataclass(frozen=True)
class Identity:
    issuer: str
    subject: str
    email: str | None
    email_verified: bool
    name: str | None
    claims: dict[str, Any]  # ID token claims over userinfo claims


class SignInRefused(Unauthenticated):
    """The provider's answer does not prove who is signing in."""


@dataclass
class _Cache:
    metadata: dict[str, Any] | None = None
    jwks: dict[str, Any] | None = None
    fetched_at: float = 0.0


_caches: dict[str, _Cache] = {}  # by issuer
_lock = threading.Lock()


def _config() -> ConsoleSettings:
    console = get_settings().console
    if not console.oidc_enabled:
        raise ConfigurationError("single sign-on is not configured (PLINTH_CONSOLE_OIDC_ISSUER, _CLIENT_ID)")
    return console


def _client(console: ConsoleSettings, redirect_uri: str | None = None) -> OAuth2Client:
    secret = console.oidc_client_secret.get_secret_value() if console.oidc_client_secret else None
    return OAuth2Client(
        client_id=console.oidc_client_id,
        client_secret=secret,
        token_endpoint_auth_method="client_secret_basic" if secret else "none",
        scope=console.oidc_scopes,
        redirect_uri=redirect_uri,
        code_challenge_method="S256",
        timeout=console.oidc_timeout_s,
    )


def _get_json(client: OAuth2Client, url: str, **kwargs: Any) -> dict[str, Any]:
    try:
        response = client.request("GET", url, withhold_token=True, **kwargs)
    except Exception as exc:  # every transport failure means the same to a person signing in
        raise Unavailable(f"the identity provider cannot be reached ({type(exc).__name__})") from exc
    if response.status_code != 200:
        raise SignInRefused(f"the identity provider answered {response.status_code} for {url}")
    body = response.json()
    if not isinstance(body, dict):
        raise SignInRefused(f"the identity provider sent no JSON object from {url}")
    return body


def metadata(*, force: bool = False) -> dict[str, Any]:
    """The provider's discovery document (cached for an hour), checked against the configured issuer."""
    console = _config()
    with _lock:
        cache = _caches.setdefault(str(console.oidc_issuer), _Cache())
        fresh = time.monotonic() - cache.fetched_at < _METADATA_TTL_S
        if cache.metadata is not None and fresh and not force:
            return cache.metadata
        issuer = str(console.oidc_issuer).rstrip("/")
        with _client(console) as client:
            doc = _get_json(client, f"{issuer}/.well-known/openid-configuration")
        if doc.get("issuer") != console.oidc_issuer:
            raise SignInRefused(
                f"the discovery document names issuer {doc.get('issuer')!r}, not {console.oidc_issuer!r}"
            )
        methods = doc.get("code_challenge_methods_supported")
        if methods is not None and "S256" not in methods:
            raise SignInRefused("the identity provider does not support PKCE with S256")
        cache.metadata, cache.jwks, cache.fetched_at = doc, None, time.monotonic()
        return doc


def _key_set(client: OAuth2Client, doc: dict[str, Any], *, force: bool) -> KeySet:
    cache = _caches.setdefault(str(doc["issuer"]), _Cache())
    if cache.jwks is None or force:
        cache.jwks = _get_json(client, doc["jwks_uri"])
    return KeySet.import_key_set(cache.jwks)  # type: ignore[arg-type]


def _algorithms(doc: dict[str, Any]) -> list[str]:
    advertised = set(doc.get("id_token_signing_alg_values_supported") or ["RS256"])
    allowed = sorted(advertised & SIGNING_ALGORITHMS)
    if not allowed:
        raise SignInRefused(f"the identity provider signs ID tokens only with {sorted(advertised)}")
    return allowed


def authorization_url(*, redirect_uri: str, state: str, nonce: str, code_verifier: str) -> str:
    console = _config()
    doc = metadata()
    with _client(console, redirect_uri) as client:
        url, _ = client.create_authorization_url(
            doc["authorization_endpoint"], state=state, code_verifier=code_verifier, nonce=nonce
        )
    return str(url)


def _decode(client: OAuth2Client, doc: dict[str, Any], id_token: str) -> jwt.Token:
    algorithms = _algorithms(doc)
    try:
        try:
            return jwt.decode(id_token, _key_set(client, doc, force=False), algorithms=algorithms)
        except InvalidKeyIdError:
            # Keys rotate: an unknown key id earns one fresh look at the provider's key set.
            return jwt.decode(id_token, _key_set(client, doc, force=True), algorithms=algorithms)
    except JoseError as exc:
        raise SignInRefused(f"the ID token's signature does not verify ({exc.error})") from exc
    except ValueError as exc:
        raise SignInRefused(f"the ID token is malformed ({exc})") from exc


def complete(*, code: str, redirect_uri: str, code_verifier: str, nonce: str) -> Identity:
    """Redeem the authorization code and prove the ID token; the identity it names."""
    console = _config()
    doc = metadata()
    with _client(console, redirect_uri) as client:
        try:
            token = client.fetch_token(
                doc["token_endpoint"], code=code, code_verifier=code_verifier, redirect_uri=redirect_uri
            )
        except OAuthError as exc:
            raise SignInRefused(f"the identity provider refused the code ({exc.error})") from exc
        except Exception as exc:
            raise Unavailable(f"the identity provider cannot be reached ({type(exc).__name__})") from exc
        if "id_token" not in token:
            raise SignInRefused("the identity provider returned no ID token")
        decoded = _decode(client, doc, token["id_token"])
        claims = CodeIDToken(
            decoded.claims,
            decoded.header,
            {
                "iss": {"essential": True, "value": console.oidc_issuer},
                "aud": {"essential": True, "value": console.oidc_client_id},
            },
            {"nonce": nonce, "client_id": console.oidc_client_id, "access_token": token.get("access_token")},
        )
        try:
            claims.validate(leeway=_CLOCK_LEEWAY_S)
        except JoseError as exc:
            raise SignInRefused(f"the ID token is not valid here ({exc.error}: {exc.description})") from exc
        if "nonce" not in claims:
            raise SignInRefused("the ID token carries no nonce")
        info: dict[str, Any] = {}
        if doc.get("userinfo_endpoint") and token.get("access_token"):
            headers = {"Authorization": f"Bearer {token['access_token']}"}
            info = _get_json(client, doc["userinfo_endpoint"], headers=headers)
            if info.get("sub") != claims["sub"]:
                raise SignInRefused("the userinfo response is about another subject")
    merged = {**info, **dict(claims)}
    return Identity(
        issuer=str(claims["iss"]),
        subject=str(claims["sub"]),
        email=merged.get("email"),
        email_verified=merged.get("email_verified") is True,
        name=merged.get("name") or merged.get("preferred_username"),
        claims=merged,
    )
