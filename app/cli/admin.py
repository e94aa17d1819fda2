"""`plinth token` and `plinth user`: personal API tokens and roles."""

from __future__ import annotations

import uuid

import typer

from app.core.db import session_scope
from app.domains.principals import service as principals

tokens = typer.Typer(help="Personal API tokens.", no_args_is_help=True)
users = typer.Typer(help="Users and their roles.", no_args_is_help=True)


@tokens.command("create")
def create_token(
    user: str = typer.Option(..., "--user", help="Handle of the user the token acts as."),
    name: str = typer.Option("cli", help="What the token is for."),
    ttl_days: int = typer.Option(None, help="Expire after this many days (default: never)."),
) -> None:
    """Create a token; it is printed once and only its hash is kept."""
    with session_scope() as session:
        principal = principals.ensure_local(session, handle=user)
        token, plain = principals.create_api_token(
            session, principal=principal, name=name, ttl_days=ttl_days, by=None
        )
    typer.echo(f"token {token.id} for {user}:")
    typer.echo(plain)


@tokens.command("revoke")
def revoke_token(token_id: uuid.UUID = typer.Argument(..., help="The token's id.")) -> None:
    """Revoke a token at once."""
    with session_scope() as session:
        principals.revoke_api_token(session, token_id=token_id, by=None)
    typer.echo(f"revoked {token_id}")


@users.command("roles")
def set_roles(
    user: str = typer.Argument(..., help="Handle of the user."),
    role: list[str] = typer.Option(
        [], help="Role to hold (repeatable): admin, compliance, viewer, audit_payloads."
    ),
) -> None:
    """Set a user's roles (none given: remove all)."""
    with session_scope() as session:
        principal = principals.ensure_local(session, handle=user)
        principals.set_roles(session, principal=principal, roles=role, by=None)
        typer.echo(f"{user}: {', '.join(principal.roles) or 'no roles'}")
