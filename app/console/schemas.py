"""What the console's JSON API returns and accepts."""

from __future__ import annotations

import uuid
from datetime import datetime

from pydantic import BaseModel, Field


class MeOut(BaseModel):
    principal_id: uuid.UUID | None
    handle: str
    roles: list[str]
    permissions: list[str]


class EscalationRow(BaseModel):
    id: uuid.UUID
    message_id: uuid.UUID
    question: str
    requested_by: str
    channel: str
    reason: str | None
    status: str
    created_at: datetime


class DeliveryRow(BaseModel):
    id: uuid.UUID
    message_id: uuid.UUID
    answer_id: uuid.UUID
    question: str
    channel: str
    purpose: str
    attempts: int
    last_error: str | None
    updated_at: datetime


class PrincipalRow(BaseModel):
    id: uuid.UUID
    handle: str
    display_name: str
    email: str | None
    kind: str
    roles: list[str]
    is_active: bool
    sign_in: list[str] = Field(description="How they sign in: oidc, local, slack, email identities.")


class RolesIn(BaseModel):
    roles: list[str] = Field(
        description="The complete set of roles: admin, compliance, viewer, audit_payloads."
    )


class ApproveIn(BaseModel):
    text: str | None = Field(default=None, description="Approve this edited text instead of the suggestion.")
    note: str | None = Field(default=None, max_length=2000)


class RejectIn(BaseModel):
    note: str | None = Field(default=None, max_length=2000)
