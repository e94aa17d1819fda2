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


@cli.command("audit")
def audit(
    writers: list[int] = typer.Option([1, 16], help="Concurrent writers (repeatable)."),
    seconds: float = typer.Option(10.0, help="Seconds of appending per variant and writer count."),
    verify_events: list[int] = typer.Option([100_000, 1_000_000], help="Chain sizes to verify (repeatable)."),
) -> None:
    """Audit store: durable appends/s and p99 (Plinth vs locking the chain head), verify events/s."""
    from app.bench import audit as bench_audit

    bench_audit.run(writers=tuple(writers), seconds=seconds, verify_sizes=tuple(verify_events))


def _audit_defaults() -> None:
    from app.bench import audit as bench_audit

    bench_audit.run()


DEFAULT_RUNS["audit"] = _audit_defaults


@cli.command("e2e")
def e2e(
    latency_ms: float = typer.Option(200.0, help="The stub model's fixed answer delay L."),
    questions: int = typer.Option(40, help="Questions per corpus size and concurrency."),
    concurrency: list[int] = typer.Option([1, 8], help="Concurrent askers (repeatable)."),
    chunks: list[int] = typer.Option([1_000, 100_000], help="Corpus sizes in chunks (repeatable)."),
) -> None:
    """Whole-pipeline overhead p50/p95 (end-to-end minus L), cache-hit p95, tokens and cost per answer."""
    from app.bench import e2e as bench_e2e

    bench_e2e.run(
        latency_s=latency_ms / 1000,
        questions=questions,
        concurrencies=tuple(concurrency),
        corpus_sizes=tuple(chunks),
    )


def _e2e_defaults() -> None:
    from app.bench import e2e as bench_e2e

    bench_e2e.run()


DEFAULT_RUNS["e2e"] = _e2e_defaults
