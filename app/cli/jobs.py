"""`plinth jobs ...`: the failed-task table (dead letters) and replay."""

from __future__ import annotations

import json
import uuid

import typer

from app.core.db import session_scope
from app.core.settings import get_settings
from app.domains.jobs import service as jobs
from workers import outbox

cli = typer.Typer(help="Failed tasks (dead letters): list, inspect, replay.", no_args_is_help=True)


@cli.command("failed")
def failed(
    status: str = typer.Option("failed", help="failed, replayed or all."),
    limit: int = typer.Option(100, min=1, max=10_000),
    output_json: bool = typer.Option(False, "--json", help="One JSON object per line, with tracebacks."),
) -> None:
    """List tasks that failed for good, newest first."""
    with session_scope() as session:
        rows = jobs.list_failed(session, status=None if status == "all" else status, limit=limit)
    for row in rows:
        if output_json:
            typer.echo(row.model_dump_json())
        else:
            typer.echo(
                f"{row.id}  {row.last_failed_at:%Y-%m-%d %H:%M:%S}  {row.status:8}  {row.task_name}  "
                f"attempts={row.attempts}  {json.dumps(row.arguments)}  {row.error}"
            )
    if not rows and not output_json:
        typer.echo("no failed tasks", err=True)


@cli.command("replay")
def replay(failed_id: uuid.UUID = typer.Argument(..., help="The id `plinth jobs failed` shows.")) -> None:
    """Send a failed task again with its original arguments (audited)."""
    outbox.install()  # the task leaves once the replay is committed
    with session_scope() as session:
        row = jobs.replay(
            session,
            failed_id=failed_id,
            principal_id=None,
            expires_s=get_settings().limits.answer_task_expires_s,
        )
    typer.echo(f"replayed {row.task_name} {json.dumps(row.arguments)} (replay {row.replays})")
