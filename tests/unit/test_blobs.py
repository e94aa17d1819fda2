from __future__ import annotations

import hashlib
from pathlib import Path

import pytest

from app.core.blobs import FileBlobStore


def test_blobs_are_content_addressed_and_stored_once(tmp_path: Path) -> None:
    store = FileBlobStore(tmp_path)
    first = store.put_bytes(b"hello world")
    second = store.put_bytes(b"hello world")
    assert first == second
    assert first.key == hashlib.sha256(b"hello world").hexdigest()
    assert first.size == 11
    with store.open(first.key) as stream:
        assert stream.read() == b"hello world"
    stored = [p for p in tmp_path.rglob("*") if p.is_file()]
    assert len(stored) == 1


def test_keys_cannot_escape_the_store(tmp_path: Path) -> None:
    store = FileBlobStore(tmp_path)
    with pytest.raises(ValueError, match="not a blob key"):
        store.open("../../etc/passwd")
