"""`plinth slack`: per-channel settings, replies that failed for good, OAuth installations (and the key
their tokens are encrypted with), and Socket Mode."""

from __future__ import annotations

import json

import typer
from cryptography.fernet import Fernet

from app.core import token_crypto
from app.core.db import session_scope
from app.core.errors import ConfigurationError, InvalidInput
from app.core.settings import get_settings
from app.domains.channels import service as channels
from app.domains.conversations import deliveries
from app.domains.installations import service as installations
from app.domains.principals import service as principals

cli = typer.Typer(help="The Slack front end.", no_args_is_help=True)
channel_cli = typer.Typer(
    help="Per-channel settings (a channel is slack:TEAM:CHANNEL).", no_args_is_help=True
)
cli.add_typer(channel_cli, name="channel")
installations_cli = typer.Typer(
    help="Workspaces that installed Plinth (OAuth mode) and the key their tokens are encrypted with.",
    no_args_is_help=True,
)
cli.add_typer(installations_cli, name="installations")


def _audience(value: str) -> str:
    if not value.startswith("slack:") or value.count(":") != 2:
        raise InvalidInput(
            f"{value!r} is not a channel: use slack:TEAM_ID:CHANNEL_ID (e.g. slack:T061EG9R6:C0LAN2Q65)"
        )
    return value


@channel_cli.command("list")
def list_channels() -> None:
    """Every channel Plinth has seen, with its settings and member count."""
    with session_scope() as session:
        for channel in channels.list_channels(session):
            members = len(channels.audience_members(session, audience=channel.audience))
            typer.echo(f"{channel.audience}  members={members}  {json.dumps(channels.settings_of(channel))}")


@channel_cli.command("set")
def set_channel(
    *,
    audience: str = typer.Argument(..., help="slack:TEAM:CHANNEL"),
    enabled: bool | None = typer.Option(None, "--enabled/--disabled", help="Answer in this channel at all."),
    scope: list[str] | None = typer.Option(
        None, help="Access entries answers here may use (org, group:NAME, user:HANDLE); repeatable."
    ),
    clear_scope: bool = typer.Option(False, help="Use what every member may read again."),
    mentions_only: bool | None = typer.Option(
        None, "--mentions-only/--follow-threads", help="Answer only when mentioned."
    ),
    allowed_user: list[str] | None = typer.Option(
        None, help="Slack user id who may ask here (repeatable); --allow-everyone resets."
    ),
    allow_everyone: bool = typer.Option(False, help="Let every member ask."),
    external: bool | None = typer.Option(
        None, "--allow-external/--refuse-external", help="Answer even with Slack Connect members."
    ),
    as_user: str = typer.Option("cli", "--as", help="Who makes the change (audited)."),
) -> None:
    """Change a channel's settings (only the options given); audited."""
    users = [] if allow_everyone else (allowed_user or None)
    with session_scope() as session:
        by = principals.ensure_local(session, handle=as_user).id
        channel = channels.configure(
            session,
            audience=_audience(audience),
            by=by,
            enabled=enabled,
            scope=scope or None,
            clear_scope=clear_scope,
            mentions_only=mentions_only,
            allowed_users=users,
            allow_external=external,
        )
        typer.echo(f"{channel.audience}  {json.dumps(channels.settings_of(channel))}")


@cli.command("failed")
def failed(limit: int = typer.Option(100, help="At most this many, newest first.")) -> None:
    """Slack replies that failed after every retry, with the last error."""
    with session_scope() as session:
        rows = [d for d in deliveries.failed(session, limit=limit) if d.channel == "slack"]
        for d in rows:
            typer.echo(
                f"{d.message_id}  attempts={d.attempts}  {d.updated_at:%Y-%m-%d %H:%M:%S}  {d.last_error}"
            )
    if not rows:
        typer.echo("no failed Slack replies")


@installations_cli.command("list")
def list_installations() -> None:
    """Every stored installation (which tokens it holds, never the tokens)."""
    with session_scope() as session:
        found = installations.list_installations(session)
    for i in found:
        where = i.team_id or f"{i.enterprise_id} (org-wide)"
        name = i.team_name or i.enterprise_name or ""
        tokens = ",".join(t for t, held in (("bot", i.has_bot_token), ("user", i.has_user_token)) if held)
        typer.echo(
            f"{where}  {name!r}  installer={i.user_id}  tokens={tokens or '-'}  "
            f"installed={i.installed_at:%Y-%m-%d %H:%M:%S}  scopes={','.join(i.bot_scopes)}"
        )
    if not found:
        typer.echo("no Slack installations")


@installations_cli.command("delete")
def delete_installation(
    *,
    team: str | None = typer.Option(None, help="The workspace (team id, T...)."),
    enterprise: str | None = typer.Option(None, help="The Enterprise Grid organisation (E...), if any."),
) -> None:
    """Forget a workspace's installation and its tokens (as when Slack reports an uninstall); audited."""
    client_id = get_settings().slack.client_id
    if client_id is None:
        raise ConfigurationError("no Slack client id: set PLINTH_SLACK_CLIENT_ID (OAuth mode)")
    if team is None and enterprise is None:
        raise InvalidInput(
            "give --team (and --enterprise on Enterprise Grid), or --enterprise for an org-wide install"
        )
    with session_scope() as session:
        removed = installations.delete_installation(
            session, client_id=client_id, enterprise_id=enterprise, team_id=team
        )
    typer.echo(f"removed {removed} installation(s) of {team or enterprise}")


@installations_cli.command("rotate-key")
def rotate_key() -> None:
    """Encrypt every stored token under a new key. With the key file: a key is added, the tokens are
    re-encrypted, then the old keys are dropped. With PLINTH_SLACK_TOKEN_KEYS: put the new key first in
    the list, run this, then remove the old ones."""
    if get_settings().slack.token_keys is not None:
        with session_scope() as session:
            count = installations.reencrypt_all(session, by="cli")
        typer.echo(f"re-encrypted {count} installation(s) under the first key of PLINTH_SLACK_TOKEN_KEYS")
        return
    path = token_crypto.key_file()
    token_crypto.ensure_key_file(path)
    old = token_crypto.parse_keys(path.read_text())
    new = Fernet.generate_key()
    token_crypto.write_key_file(path, [new, *old])  # every process can now read old and new tokens
    with session_scope() as session:
        count = installations.reencrypt_all(session, by="cli")
    token_crypto.write_key_file(path, [new])
    typer.echo(f"re-encrypted {count} installation(s) under a new key in {path}; the old key is gone")


@cli.command("socket")
def socket() -> None:
    """Run the Slack app over Socket Mode (local development: no public URL needed)."""
    from integrations.slack import socket_mode

    socket_mode.run()
