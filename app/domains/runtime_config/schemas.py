"""What the runtime settings store returns."""

from __future__ import annotations

from datetime import datetime
from typing import Any

from pydantic import BaseModel, ConfigDict, Field


class VersionOut(BaseModel):
    model_config = ConfigDict(from_attributes=True)

    section: str
    version: int
    value: dict[str, Any]
    changed_by: str
    changed_at: datetime
    reason: str | None
    rollback_of: int | None = Field(description="The version this one restored, if it was a rollback.")


class CurrentOut(BaseModel):
    section: str
    title: str
    version: int = Field(description="0: nothing stored yet; the value is the baseline.")
    value: dict[str, Any]
    json_schema: dict[str, Any]


class Change(BaseModel):
    path: list[str] = Field(
        description='Keys down to the changed value, e.g. `["periods", "input.received"]`.'
    )
    before: Any
    after: Any


class DiffOut(BaseModel):
    section: str
    from_version: int
    to_version: int
    changes: list[Change]
