"""`plinth model ...` (the model registry) and `plinth prompt ...` (versioned prompt templates)."""

from __future__ import annotations

from pathlib import Path

import typer

from app.core.db import session_scope
from app.domains.models import service as models
from audit import events

model_cli = typer.Typer(
    help="Registered models: endpoint, served name, context length, price.", no_args_is_help=True
)
prompt_cli = typer.Typer(help="Versioned prompt templates.", no_args_is_help=True)

ACTOR = f"{events.SYSTEM_ACTOR}:cli"


@model_cli.command("add")
def add(
    *,
    name: str = typer.Argument(..., help="Registry name (also the failover entry's name)."),
    base_url: str = typer.Option(
        ..., "--endpoint", help="OpenAI-compatible base URL, e.g. http://vllm:8000/v1"
    ),
    served_model: str = typer.Option(..., "--served-model", help="The name vLLM serves it under."),
    context_length: int = typer.Option(..., "--context-length", help="Tokens of context the server allows."),
    price_in: float = typer.Option(0.0, "--price-in", help="Price per 1k prompt tokens."),
    price_out: float = typer.Option(0.0, "--price-out", help="Price per 1k completion tokens."),
    gpu_hour_cost: float | None = typer.Option(None, "--gpu-hour-cost", help="Cost of one GPU hour."),
    throughput: float | None = typer.Option(None, "--throughput", help="Measured tokens per second."),
    priority: int = typer.Option(100, help="Failover order: lower is tried first."),
) -> None:
    """Register a model endpoint."""
    with session_scope() as session:
        model = models.register_model(
            session,
            name=name,
            base_url=base_url,
            served_model=served_model,
            context_length=context_length,
            price_in_per_1k=price_in,
            price_out_per_1k=price_out,
            gpu_hour_cost=gpu_hour_cost,
            throughput_tokens_per_s=throughput,
            priority=priority,
            actor=ACTOR,
        )
        typer.echo(f"registered {model.name} ({model.served_model} at {model.base_url})")


@model_cli.command("list")
def list_models() -> None:
    """Registered models in failover order."""
    with session_scope() as session:
        rows = models.list_models(session)
        if not rows:
            typer.echo("no models registered; the endpoints in the settings (PLINTH_LLM_*) are used")
        for m in rows:
            state = "enabled " if m.enabled else "disabled"
            typer.echo(
                f"{m.priority:>4}  {state}  {m.name:<20} {m.served_model:<28} ctx={m.context_length:<6} "
                f"in={m.price_in_per_1k:g}/1k out={m.price_out_per_1k:g}/1k  {m.base_url}"
            )


def _toggle(name: str, enabled: bool) -> None:
    with session_scope() as session:
        models.set_enabled(session, name=name, enabled=enabled, actor=ACTOR)
    typer.echo(f"{name} {'enabled' if enabled else 'disabled'}")


@model_cli.command("enable")
def enable(name: str) -> None:
    """Use a registered model again."""
    _toggle(name, True)


@model_cli.command("disable")
def disable(name: str) -> None:
    """Stop sending requests to a registered model."""
    _toggle(name, False)


@prompt_cli.command("publish")
def publish(
    name: str = typer.Argument("answer", help="Prompt name."),
    system_file: Path = typer.Option(
        ..., "--system", exists=True, dir_okay=False, help="System prompt file."
    ),
    user_file: Path = typer.Option(
        ..., "--user", exists=True, dir_okay=False, help="User template file with $sources and $question."
    ),
    note: str | None = typer.Option(None, help="Why this version exists."),
    activate: bool = typer.Option(True, help="Make it the version new answers use."),
) -> None:
    """Store a new version of a prompt."""
    with session_scope() as session:
        row = models.publish_prompt(
            session,
            name=name,
            system=system_file.read_text(),
            user_template=user_file.read_text(),
            actor=ACTOR,
            note=note,
            activate=activate,
        )
        typer.echo(f"published {row.version}" + (" (active)" if row.active else ""))


@prompt_cli.command("activate")
def activate(version: str) -> None:
    """Make a stored version the one new answers use."""
    with session_scope() as session:
        models.activate_prompt(session, version=version, actor=ACTOR)
    typer.echo(f"{version} is active")


@prompt_cli.command("list")
def list_prompts(name: str | None = typer.Option(None, help="Only this prompt.")) -> None:
    """Stored prompt versions."""
    with session_scope() as session:
        rows = models.list_prompts(session, name=name)
        if not rows:
            typer.echo("no prompt versions stored; the built-in answer-v1 is used")
        for r in rows:
            state = "active" if r.active else ""
            typer.echo(f"{r.version:<20} {state:<6}  {r.created_at:%Y-%m-%d %H:%M}  {r.note or ''}")


@prompt_cli.command("show")
def show(version: str) -> None:
    """Print one version (the built-in answer-v1 too)."""
    with session_scope() as session:
        template = models.prompt_version(session, version=version)
    typer.echo(f"# {template.version}\n## system\n{template.system}\n## user\n{template.user}")
