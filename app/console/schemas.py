"""What the console's JSON API returns and accepts."""

from __future__ import annotations

import uuid
from datetime import datetime
from typing import Any

from pydantic import BaseModel, Field

from app.api.audit import EventOut


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


class ProofOut(BaseModel):
    checkpoint_tree_size: int | None = Field(description="The latest signed checkpoint, if any.")
    checkpoint_root_hash: str | None
    checkpoint_timestamp: str | None
    checkpoint_key_id: str | None
    leaf_index: int | None = Field(description="seq - 1: the event's leaf in the RFC 6962 tree.")
    audit_path: list[str] = Field(description="Sibling hashes, hex, leaf to root (RFC 6962 PATH).")
    verified: bool = Field(description="The path leads from the event's hash to the signed root.")
    problem: str | None = Field(description="Why there is no verified proof.")


class AuditEventDetailOut(EventOut):
    payload_shown: bool = Field(
        description="False: the caller may not read payloads (segregation of duties)."
    )
    prev_hash: str
    head_seq: int = Field(description="The chain's last seq when this was read.")
    contents_match: bool = Field(
        description="The hash recomputed from the stored fields equals the stored one."
    )
    proof: ProofOut


class VerificationOut(BaseModel):
    finished: bool = Field(description="False: still running after the wait; its outcome will be audited.")
    joined: bool = Field(description="A run started by another request was already under way.")
    result: dict[str, Any] | None = Field(description="As recorded in the `audit.verified` event.")


class SettingsChangeIn(BaseModel):
    value: dict[str, Any] = Field(description="The section's complete new value.")
    reason: str | None = Field(default=None, max_length=500)
    expected_version: int | None = Field(
        default=None, description="The version this change is based on; refused if it is not current."
    )


class RollbackIn(BaseModel):
    reason: str | None = Field(default=None, max_length=500)
