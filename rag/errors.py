"""Why a file was refused. Each reason has a stable code and a sentence the submitter sees."""

from __future__ import annotations

from app.core.errors import InvalidInput


class IngestRefused(InvalidInput):
    """The file cannot be ingested; nothing of it was stored but its original bytes (`sha256`), which
    the refusal record points to."""

    def __init__(self, reason: str, message: str) -> None:
        super().__init__(message, code=f"refused.{reason}")
        self.reason = reason
        self.sha256: str | None = None
        self.size_bytes: int | None = None
