"""`plinth eval ...`: quality evaluations printing JSON lines like the benchmarks."""

from __future__ import annotations

from pathlib import Path

import typer

cli = typer.Typer(help="Evaluations; each prints one JSON object per figure.", no_args_is_help=True)


@cli.command("retrieval")
def retrieval(
    dataset: Path = typer.Option(..., exists=True, dir_okay=False, help="A SQuAD v1.1-format JSON file."),
    limit: int = typer.Option(None, help="Ask only the first N questions."),
    text_weight: list[float] = typer.Option(
        [], help="Also try hybrid with this full-text weight (repeatable)."
    ),
) -> None:
    """hit@1, hit@5, mrr@10, ndcg@10 for dense-only and hybrid retrieval on the same index."""
    from app.bench import eval_retrieval

    eval_retrieval.run(dataset=dataset, limit=limit, text_weights=tuple(text_weight))
