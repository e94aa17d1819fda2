"""`plinth corrections`: suggest, list and review corrections of answers."""

from __future__ import annotations

import uuid
from typing import Literal

import typer

from app.core.db import session_scope
from app.domains.corrections import service as corrections
from app.domains.principals import service as principals

cli = typer.Typer(help="Corrections of answers and their review.", no_args_is_help=True)


@cli.command("suggest")
def suggest(
    message_id: uuid.UUID = typer.Argument(..., help="The question whose answer is wrong."),
    text: str = typer.Argument(..., help="The correct answer."),
    as_user: str = typer.Option("cli", "--as", help="Suggest as this user."),
) -> None:
    """Suggest a correction; it waits for review."""
    with session_scope() as session:
        submitter = principals.ensure_local(session, handle=as_user)
        correction = corrections.suggest(
            session, message_id=message_id, principal_id=submitter.id, text=text, channel="cli"
        )
    typer.echo(f"correction {correction.id} awaits review")


@cli.command("list")
def list_(status: str = typer.Option("pending", help="pending, approved, rejected or all.")) -> None:
    """List corrections, newest first."""
    with session_scope() as session:
        rows = corrections.list_corrections(session, status=None if status == "all" else status)
        for c in rows:
            typer.echo(f"{c.id}  {c.status:<8}  {c.question[:60]!r} -> {c.proposed_text[:60]!r}")


def _review(
    correction_id: uuid.UUID,
    decision: Literal["approve", "reject"],
    as_user: str | None,
    text: str | None,
    note: str | None,
) -> None:
    with session_scope() as session:
        reviewer = principals.ensure_local(session, handle=as_user).id if as_user else None
        correction = corrections.review(
            session,
            correction_id=correction_id,
            reviewer_id=reviewer,
            decision=decision,
            text=text,
            note=note,
        )
        typer.echo(f"correction {correction.id} {correction.status}")


@cli.command("approve")
def approve(
    correction_id: uuid.UUID = typer.Argument(...),
    text: str = typer.Option(None, help="Approve this edited text instead of the suggestion."),
    note: str = typer.Option(None, help="A note for the record."),
    as_user: str = typer.Option(None, "--as", help="Reviewer's handle (default: the operator)."),
) -> None:
    """Approve a correction: later answers to the same question use it."""
    _review(correction_id, "approve", as_user, text, note)


@cli.command("reject")
def reject(
    correction_id: uuid.UUID = typer.Argument(...),
    note: str = typer.Option(None, help="Why it was rejected."),
    as_user: str = typer.Option(None, "--as", help="Reviewer's handle (default: the operator)."),
) -> None:
    """Reject a correction."""
    _review(correction_id, "reject", as_user, None, note)
