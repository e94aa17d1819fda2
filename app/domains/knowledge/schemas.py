from __future__ import annotations

import uuid
from typing import Literal

from pydantic import BaseModel


class IngestOutcome(BaseModel):
    status: Literal["ingested", "duplicate"]
    document_id: uuid.UUID
    version_no: int
    title: str
    chunks: int
