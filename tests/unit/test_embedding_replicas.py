"""Threads embedding at once borrow copies of the model: another copy is loaded only while every copy
is busy, never more than the configured number."""

from __future__ import annotations

import threading

import numpy as np

from rag.embeddings import MiniLmEmbedder


def test_a_busy_model_gets_a_second_copy_and_no_third() -> None:
    embedder = MiniLmEmbedder(batch_size=16, threads=1, replicas=2)
    busy = embedder._borrow()
    vector = embedder.embed(["How much annual leave do I earn?"])  # answered by a second copy
    assert embedder._loaded == 2
    expected = busy.encode(["How much annual leave do I earn?"], normalize_embeddings=True)
    np.testing.assert_allclose(vector, expected, atol=1e-5)
    also_busy = embedder._borrow()
    done = threading.Event()
    worker = threading.Thread(target=lambda: (embedder.embed(["sick leave"]), done.set()))
    worker.start()
    assert not done.wait(0.5)  # both copies are busy: it waits for one
    embedder._idle.put(also_busy)
    assert done.wait(60)
    worker.join()
    assert embedder._loaded == 2
    embedder._idle.put(busy)


def test_a_long_list_is_split_over_the_copies_in_order() -> None:
    embedder = MiniLmEmbedder(batch_size=16, threads=1, replicas=2)
    texts = [f"Question {i}: how many days of {'annual ' * (i % 5)}leave carry over?" for i in range(40)]
    vectors = embedder.embed(texts)
    assert embedder._loaded == 2
    single = MiniLmEmbedder(batch_size=16, threads=1, replicas=1)
    np.testing.assert_allclose(vectors, single.embed(texts), atol=1e-5)
    assert single._loaded == 1


def test_a_short_list_stays_on_one_copy() -> None:
    embedder = MiniLmEmbedder(batch_size=16, threads=1, replicas=2)
    embedder.embed([f"text {i}" for i in range(15)])
    assert embedder._loaded == 1
