"""The settings sections of the front ends: the admin console, email and Slack."""

from __future__ import annotations

from pathlib import Path
from typing import Literal

from pydantic import BaseModel, Field, SecretStr


class RoleRule(BaseModel):
    """Grant `role` to whoever's ID token (or userinfo) claim `claim` holds `value` (a shell-style
    pattern; the claim may be a string or a list, and a dotted path reaches nested claims)."""

    claim: str
    value: str
    role: Literal["admin", "compliance", "viewer", "audit_payloads"]


class ConsoleSettings(BaseModel):
    """The web console at / of the API port: OIDC sign-in, sessions, the break-glass local admin."""

    # External base URL (https://plinth.example.com); unset: taken from each request.
    public_url: str | None = None
    oidc_issuer: str | None = None  # discovery at <issuer>/.well-known/openid-configuration
    oidc_client_id: str | None = None
    oidc_client_secret: SecretStr | None = None  # unset: a public client (PKCE only)
    oidc_scopes: str = "openid email profile"
    oidc_timeout_s: float = 5.0
    role_rules: list[RoleRule] = Field(default_factory=list)
    # The rules decide a signed-in user's roles at every sign-in (the provider is the source of truth).
    roles_from_claims: bool = True
    # The break-glass local admin is refused while OIDC is configured, unless this is set.
    allow_local_login: bool = False
    session_idle_minutes: int = 30
    session_absolute_hours: int = 12
    login_timeout_s: int = 600  # how long a started sign-in may take
    # How long the Audit page waits for a chain verification (the run itself continues to its end).
    verify_wait_s: float = 60.0

    @property
    def oidc_enabled(self) -> bool:
        return bool(self.oidc_issuer and self.oidc_client_id)

    @property
    def local_login_enabled(self) -> bool:
        return self.allow_local_login or not self.oidc_enabled


class EmailSettings(BaseModel):
    """The email front end: the SMTP listener, sender checks, loop prevention and outbound replies."""

    listen_host: str = "127.0.0.1"
    listen_port: int = 2525
    hostname: str = "plinth.local"  # our mail domain: the Message-IDs we generate, the HELO name
    # Recipients accepted besides the two fixed ones; plus-addressing (ask+team@) reaches the same box.
    question_address: str = "ask@plinth.local"
    documents_address: str = "docs@plinth.local"
    addresses: list[str] = Field(default_factory=list)
    max_message_bytes: int = 25 * 1024 * 1024
    max_recipients: int = 20
    max_line_bytes: int = 1001  # RFC 5321 4.5.3.1.6: 998 octets + CRLF + a transparent dot
    tls_cert_file: Path | None = None  # STARTTLS is offered when a certificate and key are configured
    tls_key_file: Path | None = None
    # Senders: known employees (principals by email) plus anyone at these domains.
    allowed_domains: list[str] = Field(default_factory=list)
    # Authentication-Results are trusted only from this authserv-id (the company MTA); others are ignored.
    trusted_authserv_id: str | None = None
    require_authentication: bool = False  # quarantine mail without a trusted DMARC/DKIM/SPF pass
    verify_dkim: bool = False  # verify DKIM signatures ourselves (needs DNS)
    messages_per_sender_per_hour: int = 30
    max_mime_depth: int = 20
    max_mime_parts: int = 500
    max_attachments: int = 50
    max_archive_members: int = 100
    max_archive_bytes: int = 50 * 1024 * 1024  # uncompressed total of one archive
    max_archive_ratio: float = 100.0  # uncompressed / compressed; a zip bomb is far above this
    max_archive_depth: int = 2
    # Outbound: an SMTP relay; in the embedded default the local sink `plinth up` starts.
    relay_host: str = "127.0.0.1"
    relay_port: int = 2526
    relay_username: str | None = None
    relay_password: SecretStr | None = None
    relay_starttls: bool = False
    relay_timeout_s: float = 10.0
    sink_dir: Path | None = None  # Maildir of the local sink; default PLINTH_HOME/mail/sink
    process_task_expires_s: int = 24 * 3600


class SlackSettings(BaseModel):
    """The Slack front end. HTTP mode (`/slack/events`) is on with the signing secret and either a bot
    token (single-workspace token mode) or an OAuth client id and secret (multi-workspace OAuth mode,
    installs at `install_path`). A bot token takes precedence: with one set, OAuth mode is off."""

    signing_secret: SecretStr | None = None
    bot_token: SecretStr | None = None  # single-workspace token mode (xoxb-...)
    # Multi-workspace OAuth mode: installations (tokens encrypted at rest) are kept in PostgreSQL.
    client_id: str | None = None
    client_secret: SecretStr | None = None
    scopes: list[str] = Field(
        default_factory=lambda: [
            "app_mentions:read",
            "channels:history",
            "channels:read",
            "chat:write",
            "commands",
            "files:read",
            "groups:history",
            "groups:read",
            "im:history",
            "im:read",
            "users:read",
            "users:read.email",
        ]
    )
    user_scopes: list[str] = Field(default_factory=list)
    install_path: str = "/slack/install"
    redirect_uri_path: str = "/slack/oauth_redirect"
    redirect_uri: str | None = None  # the full public redirect URL, when the app lists more than one
    authorize_url: str = "https://slack.com/oauth/v2/authorize"
    oauth_state_expiration_s: int = 600  # an install must come back within this long, once
    # Fernet keys for the stored tokens, newest first (comma-separated): the first encrypts, all
    # decrypt. Unset: one key kept in token_key_file (default PLINTH_HOME/keys/slack-tokens.key).
    token_keys: SecretStr | None = None
    token_key_file: Path | None = None
    app_token: SecretStr | None = None  # Socket Mode (xapp-...)
    api_base_url: str = "https://slack.com/api/"
    timeout_s: float = 10.0
    max_retries: int = 5  # per Web API call, on 429 (honouring Retry-After), 5xx and connection errors
    escalation_channel: str | None = None  # where "Escalate to a human" posts (channel id)
    answer_with_external_members: bool = False  # Slack Connect channels are refused unless this is set
    placeholder_text: str = "Working on it…"
    progress_interval_s: float = 1.2  # at most one chat.update of a streamed answer this often
    stale_source_days: int = 365  # a cited source older than this gets a warning
    members_ttl_s: float = 600.0  # how long a channel's synced member list is trusted

    @property
    def oauth_enabled(self) -> bool:
        """OAuth mode: signing secret, client id and secret set, and no bot token (which wins)."""
        return (
            self.signing_secret is not None
            and self.client_id is not None
            and self.client_secret is not None
            and self.bot_token is None
        )

    @property
    def http_enabled(self) -> bool:
        return self.signing_secret is not None and (self.bot_token is not None or self.oauth_enabled)
