"""Content-addressed storage for original bytes (uploaded documents, raw emails). A blob's key is the
SHA-256 of its content, so storing the same bytes twice keeps one copy and a key proves integrity."""

from __future__ import annotations

import hashlib
import io
import os
import tempfile
from dataclasses import dataclass
from pathlib import Path
from typing import BinaryIO, Protocol

from app.core.settings import get_settings

_CHUNK = 1024 * 1024


@dataclass(frozen=True)
class StoredBlob:
    key: str  # hex SHA-256 of the content
    size: int


class BlobStore(Protocol):
    def put_stream(self, stream: BinaryIO) -> StoredBlob: ...

    def put_bytes(self, data: bytes) -> StoredBlob: ...

    def open(self, key: str) -> BinaryIO: ...

    def exists(self, key: str) -> bool: ...


class FileBlobStore:
    """Blobs as files under a directory, fanned out by the first hex digits of the key."""

    def __init__(self, root: Path) -> None:
        self.root = root

    def _path(self, key: str) -> Path:
        if len(key) != 64 or not all(c in "0123456789abcdef" for c in key):
            raise ValueError(f"not a blob key: {key!r}")
        return self.root / "sha256" / key[:2] / key[2:4] / key

    def put_stream(self, stream: BinaryIO) -> StoredBlob:
        self.root.mkdir(parents=True, exist_ok=True)
        digest = hashlib.sha256()
        size = 0
        fd, tmp_name = tempfile.mkstemp(dir=self.root, prefix=".incoming-")
        try:
            with os.fdopen(fd, "wb") as tmp:
                while block := stream.read(_CHUNK):
                    digest.update(block)
                    size += len(block)
                    tmp.write(block)
                tmp.flush()
                os.fsync(tmp.fileno())
            key = digest.hexdigest()
            final = self._path(key)
            if final.exists():
                os.unlink(tmp_name)
            else:
                final.parent.mkdir(parents=True, exist_ok=True)
                os.replace(tmp_name, final)
        except BaseException:
            Path(tmp_name).unlink(missing_ok=True)
            raise
        return StoredBlob(key=key, size=size)

    def put_bytes(self, data: bytes) -> StoredBlob:
        return self.put_stream(io.BytesIO(data))

    def open(self, key: str) -> BinaryIO:
        return self._path(key).open("rb")

    def exists(self, key: str) -> bool:
        return self._path(key).exists()

    def path(self, key: str) -> Path:
        return self._path(key)


def default_blob_store() -> FileBlobStore:
    return FileBlobStore(get_settings().blobs_dir)
