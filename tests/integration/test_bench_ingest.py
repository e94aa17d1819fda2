"""`plinth bench ingest` on a tiny corpus: well-formed JSON lines, both variants ingested the same files
(no timing assertions: figures are for the benchmark, not the tests)."""

from __future__ import annotations

import json
import shutil
import zipfile
from pathlib import Path

import pytest

from app.bench.large_document import write_docx
from tests.support.processes import plinth_env, run_cli

PAGES = ("travel-and-leave/leave.md", "about.md", "getting-started/index.md")


@pytest.fixture
def tiny_corpus(shared_data: Path, tmp_path: Path) -> Path:
    corpus = tmp_path / "corpus"
    corpus.mkdir()
    handbook = shared_data / "qa" / "handbook-18F" / "pages"
    for page in PAGES:
        shutil.copy(handbook / page, corpus / page.replace("/", "-"))
    return corpus


def test_large_document_is_deterministic_and_paged(tiny_corpus: Path, tmp_path: Path) -> None:
    first = write_docx(tmp_path / "a.docx", corpus=tiny_corpus, pages=12)
    second = write_docx(tmp_path / "b.docx", corpus=tiny_corpus, pages=12)
    assert first.read_bytes() == second.read_bytes()
    with zipfile.ZipFile(first) as archive:
        body = archive.read("word/document.xml").decode()
    assert body.count('w:type="page"') == 11
    assert body.count('w:val="Heading1"') == 12


@pytest.mark.slow
def test_bench_ingest_prints_both_variants_on_the_same_files(tiny_corpus: Path, tmp_path: Path) -> None:
    result = run_cli(
        "bench", "ingest", "--corpus", str(tiny_corpus), "--large-pages", "3", env=plinth_env({}), timeout=900
    )
    assert result.returncode == 0, result.stderr[-3000:]
    lines = [json.loads(line) for line in result.stdout.splitlines() if line.strip()]
    assert all(line["bench"] == "ingest" for line in lines)
    figures = {(x["corpus"], x["variant"], x["metric"]): x for x in lines}
    for corpus, files in ((tiny_corpus.name, len(PAGES)), ("3-page docx", 1)):
        for variant in ("plinth", "llamaindex"):
            speed = figures[(corpus, variant, "chunks_per_s")]
            rss = figures[(corpus, variant, "peak_rss_mb")]
            assert speed["unit"] == "1/s"
            assert rss["unit"] == "MB"
            assert speed["files"] == files
            assert speed["refused"] == 0
            assert speed["chunks"] > 0
            assert speed["seconds"] > 0
            assert speed["cpu_seconds"] > 0
            assert speed["value"] > 0
            assert rss["value"] > 0
        assert figures[(corpus, "plinth", "chunks_per_s_vs_llamaindex")]["unit"] == "x"
