"""Write-once storage for signed checkpoints. The default is a directory in which a file, once written,
is never replaced (created exclusively, then made read-only). In production the same Protocol fits an
S3 bucket with Object Lock in compliance mode (see README): then not even the account owner can delete
or overwrite a checkpoint before its retention date."""

from __future__ import annotations

import os
from pathlib import Path
from typing import Protocol

from app.core.errors import Conflict
from app.core.settings import get_settings


class WriteOnceStore(Protocol):
    def put(self, name: str, data: bytes) -> None:
        """Store `data` under `name`; refuses (Conflict) if `name` exists."""
        ...

    def get(self, name: str) -> bytes: ...

    def names(self) -> list[str]: ...


class DirectoryStore:
    def __init__(self, root: Path) -> None:
        self.root = root

    def put(self, name: str, data: bytes) -> None:
        if "/" in name or name.startswith("."):
            raise ValueError(f"invalid object name {name!r}")
        self.root.mkdir(parents=True, exist_ok=True)
        path = self.root / name
        try:
            fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
        except FileExistsError as exc:
            raise Conflict(f"{path} exists and is never overwritten") from exc
        with os.fdopen(fd, "wb") as out:
            out.write(data)
            out.flush()
            os.fsync(out.fileno())
        path.chmod(0o444)

    def get(self, name: str) -> bytes:
        return (self.root / name).read_bytes()

    def names(self) -> list[str]:
        if not self.root.is_dir():
            return []
        return sorted(p.name for p in self.root.iterdir() if p.is_file() and not p.name.startswith("."))


def default_store() -> WriteOnceStore:
    settings = get_settings()
    return DirectoryStore(settings.audit.checkpoint_dir or settings.home / "audit" / "checkpoints")
