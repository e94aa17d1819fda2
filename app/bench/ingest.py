"""`plinth bench ingest --corpus DIR [--large-pages 900]`: end-to-end ingestion throughput (chunks/s)
and peak RSS for Plinth and for LlamaIndex's default path, on the same corpus in the same run, then
the same for one long Word document generated from the corpus's text (the memory target).

Each variant runs in a process of its own (`app.bench.ingest_variants`) against a fresh database on a
scratch embedded PostgreSQL; its peak RSS is that process's own maximum resident set, read from
`wait4`. Model loading happens before each variant's clock starts; everything after — reading the
files, parsing, chunking, embedding, writing — is timed."""

from __future__ import annotations

import json
import os
import shutil
import subprocess
import sys
import tempfile
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any

import psycopg
from psycopg import sql

from app.bench.large_document import write_docx
from app.bench.report import emit, machine
from app.runtime import migrate
from app.runtime.postgres import EmbeddedPostgres

BENCH = "ingest"
VARIANTS = ("plinth", "llamaindex")
DEFAULT_LARGE_PAGES = 900
DEFAULT_CORPUS = Path(__file__).resolve().parents[3] / "shared" / "data" / "qa" / "handbook-18F" / "pages"


@contextmanager
def scratch_server() -> Iterator[EmbeddedPostgres]:
    root = Path(tempfile.mkdtemp(prefix="plinth-bench-ingest-"))
    server = EmbeddedPostgres(root=root / "pg", shared_buffers="256MB")
    try:
        server.start()
        yield server
    finally:
        server.stop()
        shutil.rmtree(root, ignore_errors=True)


def fresh_database(server: EmbeddedPostgres, name: str, *, migrated: bool) -> str:
    with psycopg.connect(server.url("postgres"), autocommit=True) as conn:
        conn.execute(sql.SQL("DROP DATABASE IF EXISTS {} WITH (FORCE)").format(sql.Identifier(name)))
        conn.execute(sql.SQL("CREATE DATABASE {}").format(sql.Identifier(name)))
    url = server.url(name)
    if migrated:
        migrate.upgrade(url)
    return url


def run_variant(variant: str, *, corpus: Path, database_url: str, work: Path) -> dict[str, Any]:
    """Run one variant in a child process; its figures plus its own peak RSS."""
    home = work / f"home-{variant}"
    result_file = work / f"result-{variant}.json"
    env = {
        **{k: v for k, v in os.environ.items() if not k.startswith("PLINTH_")},
        "PLINTH_HOME": str(home),
        "PLINTH_DATABASE_URL": database_url,
        "HF_HUB_OFFLINE": "1",
        "TOKENIZERS_PARALLELISM": "false",
    }
    command = [sys.executable, "-m", "app.bench.ingest_variants", variant, str(corpus), database_url]
    child = subprocess.Popen(
        [*command, str(result_file)],
        env=env,
        stdout=subprocess.DEVNULL,  # one line per file from `plinth ingest`; refusals still reach stderr
    )
    _, status, usage = os.wait4(child.pid, 0)
    child.returncode = os.waitstatus_to_exitcode(status)
    if child.returncode != 0:
        raise RuntimeError(f"the {variant} variant failed with exit code {child.returncode}")
    figures: dict[str, Any] = json.loads(result_file.read_text())
    figures["peak_rss_mb"] = usage.ru_maxrss / 1024  # kilobytes on Linux
    return figures


def _emit_pair(figures: dict[str, Any], *, variant: str, corpus: str, context: dict[str, Any]) -> None:
    common = {
        **context,
        "corpus": corpus,
        "files": figures["files"],
        "refused": figures["refused"],
        "chunks": figures["chunks"],
        "seconds": round(figures["seconds"], 3),
        "cpu_seconds": round(figures["cpu_seconds"], 3),
    }
    emit(
        bench=BENCH,
        variant=variant,
        metric="chunks_per_s",
        value=figures["chunks"] / figures["seconds"],
        unit="1/s",
        **common,
    )
    emit(
        bench=BENCH, variant=variant, metric="peak_rss_mb", value=figures["peak_rss_mb"], unit="MB", **common
    )


def compare(
    server: EmbeddedPostgres,
    *,
    corpus: Path,
    label: str,
    work: Path,
    slug: str,
    variants: tuple[str, ...] = VARIANTS,
) -> None:
    """The variants on one corpus, each on a fresh database, and Plinth's speed-up over LlamaIndex."""
    context = machine()
    results: dict[str, dict[str, Any]] = {}
    for variant in variants:
        url = fresh_database(server, f"{slug}_{variant}", migrated=variant == "plinth")
        results[variant] = run_variant(variant, corpus=corpus, database_url=url, work=work)
        _emit_pair(results[variant], variant=variant, corpus=label, context=context)
    if len(results) < len(VARIANTS):
        return
    plinth, llamaindex = (results[v]["chunks"] / results[v]["seconds"] for v in VARIANTS)
    emit(
        bench=BENCH,
        variant="plinth",
        metric="chunks_per_s_vs_llamaindex",
        value=plinth / llamaindex if llamaindex else float("nan"),
        unit="x",
        corpus=label,
        **context,
    )


def run(corpus: Path, large_pages: int = DEFAULT_LARGE_PAGES, large_baseline: bool = True) -> None:
    corpus = corpus.resolve()
    if not corpus.is_dir():
        raise ValueError(f"--corpus {corpus} is not a directory")
    with scratch_server() as server, tempfile.TemporaryDirectory(prefix="plinth-bench-ingest-") as tmp:
        work = Path(tmp)
        compare(server, corpus=corpus, label=corpus.name, work=work, slug="corpus")
        if large_pages > 0:
            large = work / "large"
            large.mkdir()
            write_docx(large / f"handbook-{large_pages}p.docx", corpus=corpus, pages=large_pages)
            compare(
                server,
                corpus=large,
                label=f"{large_pages}-page docx",
                work=work,
                slug="large",
                variants=VARIANTS if large_baseline else ("plinth",),
            )
