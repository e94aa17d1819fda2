"""Embeddings of repeated texts (the same question asked again, the same boilerplate ingested twice)
are computed once per process: an LRU cache in front of the embedder."""

from __future__ import annotations

import threading
from collections import OrderedDict
from collections.abc import Sequence

import numpy as np

from app.core.settings import get_settings, settings_scoped
from rag.embeddings import Embedder, Vector, get_embedder


class CachingEmbedder:
    def __init__(self, inner: Embedder, *, size: int) -> None:
        self.inner = inner
        self.name = inner.name
        self.dimensions = inner.dimensions
        self._size = size
        self._cache: OrderedDict[str, Vector] = OrderedDict()
        self._lock = threading.Lock()
        self.hits = self.misses = 0

    def embed(self, texts: Sequence[str]) -> Vector:
        rows: list[Vector | None] = []
        with self._lock:
            for text in texts:
                row = self._cache.get(text)
                if row is not None:
                    self._cache.move_to_end(text)
                rows.append(row)
        missing = sorted({t for t, r in zip(texts, rows, strict=True) if r is None})
        computed = dict(zip(missing, self.inner.embed(missing), strict=True)) if missing else {}
        with self._lock:
            self.hits += len(texts) - len(missing)
            self.misses += len(missing)
            for text, row in computed.items():
                self._cache[text] = row
                self._cache.move_to_end(text)
            while len(self._cache) > self._size:
                self._cache.popitem(last=False)
        if not texts:
            return np.zeros((0, self.dimensions), dtype=np.float32)
        return np.stack([r if r is not None else computed[t] for t, r in zip(texts, rows, strict=True)])

    def tokenize(self, text: str) -> list[str]:
        return self.inner.tokenize(text)


@settings_scoped
def get_cached_embedder() -> CachingEmbedder:
    return CachingEmbedder(get_embedder(), size=get_settings().cache.embedding_cache_size)
