"""`plinth bench ...`: benchmarks printing JSON lines (see app/bench)."""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path

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


@cli.command("load")
def load(
    *,
    rate: list[str] = typer.Option(
        ["0.5", "1", "2", "4"],
        "--rate",
        "--rates",
        help="Questions per second to offer (repeatable, or comma-separated: --rates 0.5,1,2).",
    ),
    duration: float = typer.Option(
        300.0, "--duration", "--seconds", help="Seconds at each rate (the issue's five minutes by default)."
    ),
    driver: str = typer.Option("slack", help="Front end: slack (signed events to /slack/events) or api."),
    busy_depth: int = typer.Option(
        None, help="Answers waiting past which questions get the busy notice (default: the setting's)."
    ),
    drain: float = typer.Option(
        None, help="Seconds to wait for a rate's last answers (default max(120, duration))."
    ),
    docs: Path = typer.Option(
        None, help="Documents to ingest first (default: the handbook's travel-and-leave pages)."
    ),
    llm_url: str = typer.Option(None, help="OpenAI-compatible endpoint (default: the stub the tests use)."),
    concurrency: int = typer.Option(16, help="Answers at once: threads of the answer worker."),
) -> None:
    """Sustained questions through Slack (or the API): throughput, latency percentiles, errors, busy
    notices, queue depth over time, and the rate at which latency degrades."""
    from app.bench import load as bench_load

    try:
        rates = tuple(float(r) for item in rate for r in item.split(",") if r.strip())
    except ValueError as exc:
        raise typer.BadParameter(f"rates are numbers: {exc}", param_hint="--rates") from exc
    if not rates or min(rates) <= 0:
        raise typer.BadParameter("give at least one rate, each above 0", param_hint="--rates")
    if driver not in bench_load.DRIVERS:
        raise typer.BadParameter(f"one of {', '.join(bench_load.DRIVERS)}", param_hint="--driver")
    bench_load.run(
        rates=rates,
        duration_s=duration,
        docs=docs or bench_load.DEFAULT_DOCS,
        llm_url=llm_url,
        concurrency=concurrency,
        driver=driver,
        busy_depth=busy_depth,
        drain_s=drain,
    )


def _load_defaults() -> None:
    from app.bench import load as bench_load

    bench_load.run()


DEFAULT_RUNS["load"] = _load_defaults


@cli.command("email")
def email(
    messages: int = typer.Option(200, help="Questions sent for the throughput figures."),
    concurrency: int = typer.Option(4, help="Concurrent SMTP clients."),
) -> None:
    """Email: messages/s accepted (vs a discarding aiosmtpd) and processed end to end, p99 handling by
    size up to 25 MB, peak RSS."""
    from app.bench import email as bench_email

    bench_email.run(messages=messages, concurrency=concurrency)


def _email_defaults() -> None:
    from app.bench import email as bench_email

    bench_email.run()


DEFAULT_RUNS["email"] = _email_defaults


@cli.command("slack-ack")
def slack_ack(
    events: int = typer.Option(500, help="Signed app_mention events to send."),
    concurrency: int = typer.Option(50, help="Requests in flight at once."),
    retry_share: float = typer.Option(0.1, help="Share of events sent again as Slack retries."),
) -> None:
    """Slack: acknowledgement p50/p99, first visible Slack call p95 and duplicate replies, LLM stalled."""
    from app.bench import slack_ack as bench_slack

    bench_slack.run(events=events, concurrency=concurrency, retry_share=retry_share)


def _slack_ack_defaults() -> None:
    from app.bench import slack_ack as bench_slack

    bench_slack.run()


DEFAULT_RUNS["slack-ack"] = _slack_ack_defaults


@cli.command("retrieval")
def retrieval(
    *,
    vectors: int = typer.Option(100_000, help="Synthetic 384-d vectors to load (1,000,000 for the target)."),
    queries: int = typer.Option(200, help="Query vectors."),
    ef_search: list[int] = typer.Option([40, 100, 200], help="hnsw.ef_search values (repeatable)."),
    m: int = typer.Option(16, help="HNSW m."),
    ef_construction: int = typer.Option(64, help="HNSW ef_construction."),
    clients: int = typer.Option(4, help="Concurrent clients for the throughput figure."),
    seconds: float = typer.Option(10.0, help="Seconds of the throughput run."),
    throughput_ef: int = typer.Option(None, help="ef_search of the throughput run (default: the largest)."),
) -> None:
    """Vector search: load, HNSW build, p50/p95 and recall@10 per ef_search (unfiltered and 1% filter),
    queries/s with concurrent clients, exact scan beside them."""
    from app.bench import retrieval as bench_retrieval

    bench_retrieval.run(
        vectors=vectors,
        queries=queries,
        ef_search=tuple(ef_search),
        m=m,
        ef_construction=ef_construction,
        clients=clients,
        seconds=seconds,
        throughput_ef=throughput_ef,
    )


def _retrieval_defaults() -> None:
    from app.bench import retrieval as bench_retrieval

    bench_retrieval.run()


DEFAULT_RUNS["retrieval"] = _retrieval_defaults


@cli.command("ingest")
def ingest(
    corpus: Path = typer.Option(..., help="Directory of documents ingested by both variants."),
    large_pages: int = typer.Option(
        900, help="Pages of the long Word document generated from the corpus's text (0: none)."
    ),
    large_baseline: bool = typer.Option(True, help="Run LlamaIndex on the long document too."),
) -> None:
    """Ingestion: chunks/s and peak RSS for Plinth and LlamaIndex's default path on the same corpus, then
    on one long generated document."""
    from app.bench import ingest as bench_ingest

    bench_ingest.run(corpus=corpus, large_pages=large_pages, large_baseline=large_baseline)


def _ingest_defaults() -> None:
    from app.bench import ingest as bench_ingest

    bench_ingest.run(corpus=bench_ingest.DEFAULT_CORPUS)


DEFAULT_RUNS["ingest"] = _ingest_defaults
