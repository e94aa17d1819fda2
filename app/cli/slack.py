"""`plinth slack`: per-channel settings, replies that failed for good, and Socket Mode."""

from __future__ import annotations

import json

import typer

from app.core.db import session_scope
from app.core.errors import InvalidInput
from app.domains.channels import service as channels
from app.domains.conversations import deliveries
from app.domains.principals import service as principals

cli = typer.Typer(help="The Slack front end.", no_args_is_help=True)
channel_cli = typer.Typer(
    help="Per-channel settings (a channel is slack:TEAM:CHANNEL).", no_args_is_help=True
)
cli.add_typer(channel_cli, name="channel")


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


@cli.command("socket")
def socket() -> None:
    """Run the Slack app over Socket Mode (local development: no public URL needed)."""
    from integrations.slack import socket_mode

    socket_mode.run()
