"""The JSON API behind the console pages, under /api/v1. A console session (with its CSRF token on
changes) or a bearer token (service or personal) authenticates; each endpoint names its permission."""

from __future__ import annotations

import uuid

from fastapi import APIRouter, Depends, Path, Query
from starlette.concurrency import run_in_threadpool

from app.console import audit_views, verification, views
from app.console.access import Access, Permission, require
from app.console.filters import conversation_filter
from app.console.schemas import (
    ApproveIn,
    AuditEventDetailOut,
    DeliveryRow,
    EscalationRow,
    MeOut,
    PrincipalRow,
    ProofOut,
    RejectIn,
    RolesIn,
    VerificationOut,
)
from app.domains.conversations.analytics import Dashboard
from app.domains.conversations.browse import ConversationDetail, ConversationFilter, ConversationPage
from app.domains.corrections.schemas import CorrectionOut

router = APIRouter(prefix="/api/v1", tags=["console"])
MAX_SEQ = 2**62  # within PostgreSQL's bigint
CorrectionStatus = Query(None, pattern="^(pending|approved|rejected)$", description="Default: every status.")


@router.get("/me", response_model=MeOut)
async def me(access: Access = Depends(require(None))) -> MeOut:
    return views.me(access)


@router.get("/dashboard", response_model=Dashboard)
async def dashboard(
    days: int = Query(30, ge=1, le=366), access: Access = Depends(require(Permission.DASHBOARD_READ))
) -> Dashboard:
    return await run_in_threadpool(views.dashboard, access, days=days)


@router.get("/conversations", response_model=ConversationPage)
async def conversations(
    filters: ConversationFilter = Depends(conversation_filter),
    page: int = Query(1, ge=1, le=100_000),
    per_page: int = Query(25, ge=1, le=100),
    access: Access = Depends(require(None)),
) -> ConversationPage:
    """Every conversation for viewers, compliance and admins; one's own for anyone else."""
    return await run_in_threadpool(
        views.conversations_page, access, filters=filters, page=page, per_page=per_page
    )


@router.get("/conversations/{message_id}", response_model=ConversationDetail)
async def conversation(message_id: uuid.UUID, access: Access = Depends(require(None))) -> ConversationDetail:
    """The audit trail is included for admins and compliance; its payloads only for compliance and
    holders of the audit_payloads grant."""
    return await run_in_threadpool(views.conversation, access, message_id=message_id)


@router.get("/corrections", response_model=list[CorrectionOut])
async def corrections(
    status: str | None = CorrectionStatus, access: Access = Depends(require(Permission.CORRECTIONS_READ))
) -> list[CorrectionOut]:
    return await run_in_threadpool(views.corrections_list, access, status=status)


@router.post("/corrections/{correction_id}/approve", response_model=CorrectionOut)
async def approve_correction(
    correction_id: uuid.UUID,
    body: ApproveIn,
    access: Access = Depends(require(Permission.CORRECTIONS_REVIEW)),
) -> CorrectionOut:
    return await run_in_threadpool(
        views.review, access, correction_id=correction_id, decision="approve", text=body.text, note=body.note
    )


@router.post("/corrections/{correction_id}/reject", response_model=CorrectionOut)
async def reject_correction(
    correction_id: uuid.UUID,
    body: RejectIn,
    access: Access = Depends(require(Permission.CORRECTIONS_REVIEW)),
) -> CorrectionOut:
    return await run_in_threadpool(
        views.review, access, correction_id=correction_id, decision="reject", text=None, note=body.note
    )


@router.get("/escalations", response_model=list[EscalationRow])
async def escalations(access: Access = Depends(require(Permission.ESCALATIONS_READ))) -> list[EscalationRow]:
    return await run_in_threadpool(views.open_escalations, access)


@router.post("/escalations/{escalation_id}/resolve", response_model=EscalationRow)
async def resolve_escalation(
    escalation_id: uuid.UUID, access: Access = Depends(require(Permission.ESCALATIONS_RESOLVE))
) -> EscalationRow:
    return await run_in_threadpool(views.resolve, access, escalation_id=escalation_id)


@router.get("/deliveries/failed", response_model=list[DeliveryRow])
async def failed_deliveries(
    access: Access = Depends(require(Permission.DELIVERIES_READ)),
) -> list[DeliveryRow]:
    return await run_in_threadpool(views.failed_deliveries, access)


@router.get("/principals", response_model=list[PrincipalRow])
async def principals(access: Access = Depends(require(Permission.PRINCIPALS_READ))) -> list[PrincipalRow]:
    return await run_in_threadpool(views.principals_list, access)


@router.put("/principals/{principal_id}/roles", response_model=PrincipalRow)
async def set_roles(
    principal_id: uuid.UUID, body: RolesIn, access: Access = Depends(require(Permission.ROLES_CHANGE))
) -> PrincipalRow:
    return await run_in_threadpool(views.change_roles, access, principal_id=principal_id, roles=body.roles)


@router.post("/deliveries/{delivery_id}/replay", status_code=202)
async def replay_delivery(
    delivery_id: uuid.UUID, access: Access = Depends(require(Permission.DELIVERIES_REPLAY))
) -> dict[str, str]:
    """Queue a failed delivery again through its front end (audited as `output.delivery_requeued`)."""
    await run_in_threadpool(views.replay_delivery, access, delivery_id=delivery_id)
    return {"status": "queued"}


def _detail_out(d: audit_views.EventDetail) -> AuditEventDetailOut:
    p = d.proof
    return AuditEventDetailOut(
        **{**d.record.as_dict(), "payload_purged": d.purged},
        payload_shown=d.payloads_shown,
        prev_hash=d.prev_hash,
        head_seq=d.head_seq,
        contents_match=d.contents_match,
        proof=ProofOut(
            checkpoint_tree_size=p.checkpoint.tree_size if p.checkpoint else None,
            checkpoint_root_hash=p.checkpoint.root_hash.hex() if p.checkpoint else None,
            checkpoint_timestamp=p.checkpoint.timestamp if p.checkpoint else None,
            checkpoint_key_id=p.checkpoint.key_id if p.checkpoint else None,
            leaf_index=p.proof.index if p.proof else None,
            audit_path=[h.hex() for h in p.proof.path] if p.proof else [],
            verified=p.verified,
            problem=p.problem,
        ),
    )


@router.get("/audit/events/{seq}", response_model=AuditEventDetailOut)
async def audit_event(
    seq: int = Path(ge=1, le=MAX_SEQ), access: Access = Depends(require(Permission.AUDIT_READ))
) -> AuditEventDetailOut:
    """One event with its place in the chain and its RFC 6962 inclusion proof against the latest signed
    checkpoint. The payload only for compliance and holders of the audit_payloads grant."""
    return _detail_out(await run_in_threadpool(audit_views.event_detail, access, seq=seq))


@router.post("/audit/verify", response_model=VerificationOut)
async def verify_chain(access: Access = Depends(require(Permission.AUDIT_READ))) -> VerificationOut:
    """Recompute the whole chain and check it against the signed checkpoints (waits a bounded time)."""
    v = await run_in_threadpool(verification.verify, access)
    return VerificationOut(finished=v.finished, joined=v.joined, result=v.result)
