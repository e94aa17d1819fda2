"""`plinth bench ...`: benchmarks printing JSON lines (see app/bench)."""

from __future__ import annotations

from collections.abc import Callable

import typer

cli = typer.Typer(help="Benchmarks; each prints one JSON object per figure.", no_args_is_help=True)

# name -> a runner with defaults sized for a two-core machine; every benchmark registers here.
DEFAULT_RUNS: dict[str, Callable[[], None]] = {}


@cli.command("all")
def run_all() -> None:
    """Run every benchmark with its defaults, one after another."""
    if not DEFAULT_RUNS:
        typer.echo("no benchmarks are registered", err=True)
        raise typer.Exit(1)
    for run in DEFAULT_RUNS.values():
        run()
