"""The `plinth` command."""

from __future__ import annotations

import sys

import typer

from app.cli import admin, ask, bench, config, corrections, evaluate, knowledge, local_admin, serve
from app.cli import audit as audit_cli
from app.cli import email as email_cli
from app.cli import jobs as jobs_cli
from app.cli import models as models_cli
from app.cli import slack as slack_cli
from app.cli import usage as usage_cli
from app.core.errors import AppError

cli = typer.Typer(
    name="plinth",
    help="Plinth: cited answers from company documents in Slack and email, with an audit trail.",
    no_args_is_help=True,
    pretty_exceptions_enable=False,
    add_completion=False,
)
serve.register(cli)
knowledge.register(cli)
ask.register(cli)
cli.add_typer(config.cli, name="config")
cli.add_typer(admin.tokens, name="token")
cli.add_typer(admin.users, name="user")
cli.add_typer(corrections.cli, name="corrections")
cli.add_typer(bench.cli, name="bench")
cli.add_typer(local_admin.cli, name="admin")
cli.add_typer(audit_cli.cli, name="audit")
cli.add_typer(models_cli.model_cli, name="model")
cli.add_typer(models_cli.prompt_cli, name="prompt")
usage_cli.register(cli)
cli.add_typer(usage_cli.budget_cli, name="budget")
cli.add_typer(jobs_cli.cli, name="jobs")
email_cli.register(cli)
cli.add_typer(email_cli.cli, name="email")
cli.add_typer(slack_cli.cli, name="slack")
cli.add_typer(evaluate.cli, name="eval")


def main() -> None:
    try:
        cli()
    except AppError as exc:
        typer.echo(f"error: {exc.message}", err=True)
        sys.exit(2)
