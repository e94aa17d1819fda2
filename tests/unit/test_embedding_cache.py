from __future__ import annotations

from collections.abc import Sequence

import numpy as np

from rag.embedding_cache import CachingEmbedder
from rag.embeddings import Vector


class CountingEmbedder:
    name = "counting"
    dimensions = 2

    def __init__(self) -> None:
        self.seen: list[str] = []

    def embed(self, texts: Sequence[str]) -> Vector:
        self.seen.extend(texts)
        return np.array([[len(t), 1.0] for t in texts], dtype=np.float32)

    def tokenize(self, text: str) -> list[str]:
        return text.split()


def test_repeated_texts_are_embedded_once_and_rows_keep_their_order() -> None:
    inner = CountingEmbedder()
    cached = CachingEmbedder(inner, size=10)
    first = cached.embed(["aa", "b", "aa"])
    second = cached.embed(["b", "ccc"])
    assert inner.seen == ["aa", "b", "ccc"]
    assert first[:, 0].tolist() == [2, 1, 2]
    assert second[:, 0].tolist() == [1, 3]
    assert (cached.hits, cached.misses) == (2, 3)


def test_least_recently_used_text_is_evicted() -> None:
    inner = CountingEmbedder()
    cached = CachingEmbedder(inner, size=2)
    cached.embed(["a"])
    cached.embed(["b"])
    cached.embed(["a"])  # a is now the most recent
    cached.embed(["c"])  # evicts b
    cached.embed(["a", "b"])
    assert inner.seen == ["a", "b", "c", "b"]
    assert cached.embed([]).shape == (0, 2)
