from __future__ import annotations

import uuid

from pydantic import BaseModel, ConfigDict


class PrincipalOut(BaseModel):
    model_config = ConfigDict(from_attributes=True)

    id: uuid.UUID
    handle: str
    display_name: str
    groups: list[str]
    roles: list[str]
