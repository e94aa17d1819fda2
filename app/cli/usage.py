"""`plinth usage` (daily roll-ups of tokens, cost and latency) and `plinth budget ...`."""

from __future__ import annotations

import json
from datetime import date, timedelta

import typer
from sqlalchemy.orm import Session

from app.core.db import session_scope
from app.core.errors import NotFound
from app.domains.principals import service as principals
from app.domains.usage import service as usage
from audit import events

budget_cli = typer.Typer(help="Budgets and rate limits per user, team or channel.", no_args_is_help=True)

ACTOR = f"{events.SYSTEM_ACTOR}:cli"


def register(cli: typer.Typer) -> None:
    cli.command("usage")(show_usage)


def show_usage(
    by: str = typer.Option("user", help="user, team or channel."),
    days: int = typer.Option(7, help="Days back from today (UTC), today included."),
    as_json: bool = typer.Option(False, "--json", help="One JSON object per row."),
) -> None:
    """Tokens, cost and latency per day and per user, team or channel."""
    today = date.today()
    with session_scope() as session:
        rows = usage.rollup(session, by=by, day_from=today - timedelta(days=days - 1), day_to=today)
    for r in rows:
        if as_json:
            typer.echo(json.dumps({**r.__dict__, "day": r.day.isoformat()}))
        else:
            typer.echo(
                f"{r.day}  {r.key or '-':<38} answers={r.answers:<5} in={r.prompt_tokens:<8} "
                f"out={r.completion_tokens:<7} cost={r.cost:.4f} avg={r.avg_latency_ms:.0f}ms "
                f"cached={r.cached}"
            )
    if not rows and not as_json:
        typer.echo("no usage recorded in that period")


def _scope_value(session: Session, kind: str, value: str) -> str:
    """Users are named by handle on the command line and stored by principal id."""
    if kind != "user":
        return value
    principal = principals.find_by_handle(session, handle=value)
    if principal is None:
        raise NotFound(f"no user with handle {value!r}")
    return str(principal.id)


@budget_cli.command("set")
def set_budget(
    *,
    kind: str = typer.Argument(..., help="user, team or channel."),
    value: str = typer.Argument(
        ..., help="User handle, Slack team id, or channel (e.g. slack:T1:C1, email)."
    ),
    period: str = typer.Option("day", help="day or month (UTC)."),
    soft_tokens: int | None = typer.Option(None, help="Warn once this many tokens are used."),
    hard_tokens: int | None = typer.Option(None, help="Refuse once this many tokens are used."),
    soft_cost: float | None = typer.Option(None, help="Warn once this much is spent."),
    hard_cost: float | None = typer.Option(None, help="Refuse once this much is spent."),
    rpm: int | None = typer.Option(None, "--requests-per-minute", help="Rate limit."),
) -> None:
    """Create or replace a budget."""
    with session_scope() as session:
        usage.set_budget(
            session,
            kind=kind,
            value=_scope_value(session, kind, value),
            period=period,
            soft_tokens=soft_tokens,
            hard_tokens=hard_tokens,
            soft_cost=soft_cost,
            hard_cost=hard_cost,
            requests_per_minute=rpm,
            actor=ACTOR,
        )
    typer.echo(f"budget for {kind} {value} set")


@budget_cli.command("remove")
def remove_budget(kind: str, value: str) -> None:
    """Remove a budget."""
    with session_scope() as session:
        usage.remove_budget(session, kind=kind, value=_scope_value(session, kind, value), actor=ACTOR)
    typer.echo(f"budget for {kind} {value} removed")


@budget_cli.command("list")
def list_budgets() -> None:
    """Every budget."""
    with session_scope() as session:
        for b in usage.list_budgets(session):
            typer.echo(
                f"{b.scope_kind:<7} {b.scope_value:<38} {b.period:<5} tokens soft={b.soft_tokens} "
                f"hard={b.hard_tokens}  cost soft={b.soft_cost} hard={b.hard_cost}  "
                f"rpm={b.requests_per_minute}"
            )
