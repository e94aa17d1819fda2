"""`plinth audit retention|hold|purge`: retention periods, legal holds and two-approver purges. Only
principals holding the compliance role may act here; each action is audited."""

from __future__ import annotations

import uuid

import typer

from app.core.db import session_scope
from app.core.errors import NotFound, PermissionDenied
from app.domains.principals import service as principals
from audit import retention

COMPLIANCE = "compliance"
BY = typer.Option(..., "--as", help="Handle of the compliance officer acting (needs the compliance role).")


def officer(handle: str) -> str:
    """The audit actor of a compliance officer; refuses (and records) anyone else."""
    with session_scope() as session:
        principal = principals.find_by_handle(session, handle=handle)
        if principal is None:
            raise NotFound(f"no user {handle!r}")
        if COMPLIANCE in principal.roles:
            return principals.actor(principal.id)
    principals.record_denial(
        principal_id=principal.id, what="plinth audit (retention)", reason="needs role compliance"
    )
    raise PermissionDenied(f"{handle} does not hold the compliance role")


retention_cli = typer.Typer(help="Retention periods of payloads, per event type.", no_args_is_help=True)
hold_cli = typer.Typer(help="Legal holds: payloads kept whatever their retention.", no_args_is_help=True)
purge_cli = typer.Typer(
    help="Purges of payloads whose retention ended (two approvers).", no_args_is_help=True
)


def register(cli: typer.Typer) -> None:
    cli.add_typer(retention_cli, name="retention")
    cli.add_typer(hold_cli, name="hold")
    cli.add_typer(purge_cli, name="purge")


@retention_cli.command("set")
def set_retention(
    event_type: str = typer.Argument(..., help="Event type, e.g. input.received."),
    days: int = typer.Option(..., help="Keep payloads this many days."),
    as_user: str = BY,
) -> None:
    """Set how long payloads of an event type are kept (without one: for ever)."""
    by = officer(as_user)
    with session_scope() as session:
        retention.set_retention(session, event_type=event_type, days=days, by=by)
    typer.echo(f"{event_type}: payloads kept {days} days")


@retention_cli.command("list")
def list_retention() -> None:
    """Retention periods in force."""
    with session_scope() as session:
        for policy in retention.policies(session):
            typer.echo(f"{policy.event_type}\t{policy.retain_days} days\tset by {policy.set_by}")


@hold_cli.command("place")
def place_hold(
    *,
    reason: str = typer.Option(..., help="Why (case, matter)."),
    event_type: str = typer.Option(None, "--type", help="Events of this type."),
    actor: str = typer.Option(None, help="Events of this actor."),
    correlation_id: str = typer.Option(None, help="Events of this correlation id."),
    subject: str = typer.Option(None, help="Events about this subject."),
    as_user: str = BY,
) -> None:
    """Hold payloads of events matching every criterion given."""
    by = officer(as_user)
    with session_scope() as session:
        hold = retention.place_hold(
            session,
            reason=reason,
            by=by,
            event_type=event_type,
            actor=actor,
            correlation_id=correlation_id,
            subject=subject,
        )
    typer.echo(f"legal hold {hold.id} placed")


@hold_cli.command("release")
def release_hold(hold_id: uuid.UUID = typer.Argument(...), as_user: str = BY) -> None:
    """Release a legal hold."""
    by = officer(as_user)
    with session_scope() as session:
        retention.release_hold(session, hold_id=hold_id, by=by)
    typer.echo(f"legal hold {hold_id} released")


@hold_cli.command("list")
def list_holds() -> None:
    """Active legal holds."""
    with session_scope() as session:
        for hold in retention.holds(session):
            scope = {"type": hold.event_type, "actor": hold.actor, "correlation": hold.correlation_id}
            scope["subject"] = hold.subject
            described = " ".join(f"{k}={v}" for k, v in scope.items() if v)
            typer.echo(f"{hold.id}\t{described}\t{hold.reason}")


@purge_cli.command("request")
def request_purge(event_type: str = typer.Argument(...), as_user: str = BY) -> None:
    """Request a purge of payloads whose retention ended; another officer must approve it."""
    by = officer(as_user)
    with session_scope() as session:
        request = retention.request_purge(session, event_type=event_type, by=by)
    typer.echo(f"purge request {request.id}: {event_type} payloads before {request.cutoff.isoformat()}")


@purge_cli.command("approve")
def approve_purge(request_id: uuid.UUID = typer.Argument(...), as_user: str = BY) -> None:
    """Approve a purge request; the second approver's approval carries it out."""
    by = officer(as_user)
    with session_scope() as session:
        outcome = retention.approve_purge(session, request_id=request_id, by=by)
    if outcome.executed:
        typer.echo(f"purged {outcome.purged} payloads ({outcome.held} kept under legal hold)")
    else:
        typer.echo(f"approved; needs another approver ({len(outcome.approvers)} of 2)")


@purge_cli.command("list")
def list_purges() -> None:
    """Purge requests waiting for approval."""
    with session_scope() as session:
        for request in retention.pending_requests(session):
            approvals = retention.approvals_of(session, request.id)
            typer.echo(
                f"{request.id}\t{request.event_type}\tbefore {request.cutoff.isoformat()}\t{approvals}/2"
            )
