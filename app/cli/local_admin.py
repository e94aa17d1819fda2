"""`plinth admin create`: the break-glass local admin of the console."""

from __future__ import annotations

import typer

from app.core.db import session_scope
from app.core.settings import get_settings
from app.domains.principals import local_accounts

cli = typer.Typer(help="The console's break-glass local admin.", no_args_is_help=True)


@cli.command("create")
def create(
    email: str = typer.Option(..., "--email", help="The admin's email address (their sign-in name)."),
    password: str = typer.Option(
        ...,
        "--password",
        prompt=True,
        hide_input=True,
        confirmation_prompt=True,
        help="At least 12 characters; prompted for when omitted.",
    ),
) -> None:
    """Create the local admin (or give an existing one a new password)."""
    with session_scope() as session:
        _, created = local_accounts.set_admin(session, email=email, password=password)
    typer.echo(f"local admin {email.strip().lower()} {'created' if created else 'given a new password'}")
    if not get_settings().console.local_login_enabled:
        typer.echo(
            "note: single sign-on is configured, so local sign-in stays off unless "
            "PLINTH_CONSOLE_ALLOW_LOCAL_LOGIN=true",
            err=True,
        )
