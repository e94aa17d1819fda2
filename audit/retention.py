"""Retention of audit payloads: a retention period per event type, legal holds, and purges that need two
different approvers. A purge removes payloads only — the chain keeps their digests and stays verifiable —
and is itself an audit event saying exactly which payloads it may have removed (audit.verify checks that
every missing payload is covered by one). Every change here is audited in the same transaction."""

from __future__ import annotations

import uuid
from dataclasses import dataclass
from datetime import timedelta

from sqlalchemy import func, select, text
from sqlalchemy.orm import Session

from app.core.db import utcnow
from app.core.errors import Conflict, InvalidInput, NotFound, PermissionDenied
from audit import events
from audit import store as audit_store
from audit.chain import format_ts
from audit.models import LegalHold, PurgeApproval, PurgeRequest, RetentionPolicy
from audit.verify import chain_head


def set_retention(session: Session, *, event_type: str, days: int, by: str) -> RetentionPolicy:
    if days < 1:
        raise InvalidInput("a retention period is at least one day")
    policy = session.get(RetentionPolicy, event_type)
    before = policy.retain_days if policy else None
    if policy is None:
        policy = RetentionPolicy(event_type=event_type, retain_days=days, set_by=by, set_at=utcnow())
        session.add(policy)
    else:
        policy.retain_days, policy.set_by, policy.set_at = days, by, utcnow()
    audit_store.append(
        session,
        event_type=events.AUDIT_RETENTION_SET,
        actor=by,
        subject=f"event_type:{event_type}",
        payload={"event_type": event_type, "before_days": before, "after_days": days},
    )
    session.flush()
    return policy


def policies(session: Session) -> list[RetentionPolicy]:
    return list(session.scalars(select(RetentionPolicy).order_by(RetentionPolicy.event_type)))


def place_hold(
    session: Session,
    *,
    reason: str,
    by: str,
    event_type: str | None = None,
    actor: str | None = None,
    correlation_id: str | None = None,
    subject: str | None = None,
) -> LegalHold:
    """Keep the payloads of every event matching all the criteria given (at least one) until released."""
    scope = {"event_type": event_type, "actor": actor, "correlation_id": correlation_id, "subject": subject}
    if not any(scope.values()):
        raise InvalidInput("a legal hold needs at least one of: event type, actor, correlation id, subject")
    if not reason.strip():
        raise InvalidInput("a legal hold needs a reason")
    hold = LegalHold(id=uuid.uuid4(), reason=reason, placed_by=by, placed_at=utcnow(), **scope)
    session.add(hold)
    audit_store.append(
        session,
        event_type=events.AUDIT_HOLD_PLACED,
        actor=by,
        subject=f"legal_hold:{hold.id}",
        payload={**scope, "reason": reason},
    )
    session.flush()
    return hold


def release_hold(session: Session, *, hold_id: uuid.UUID, by: str) -> LegalHold:
    hold = session.get(LegalHold, hold_id)
    if hold is None:
        raise NotFound(f"no legal hold {hold_id}")
    if hold.released_at is not None:
        raise Conflict(f"legal hold {hold_id} was released already")
    hold.released_at, hold.released_by = utcnow(), by
    audit_store.append(
        session,
        event_type=events.AUDIT_HOLD_RELEASED,
        actor=by,
        subject=f"legal_hold:{hold.id}",
        payload={"reason": hold.reason},
    )
    session.flush()
    return hold


def holds(session: Session, *, active_only: bool = True) -> list[LegalHold]:
    statement = select(LegalHold).order_by(LegalHold.placed_at)
    if active_only:
        statement = statement.where(LegalHold.released_at.is_(None))
    return list(session.scalars(statement))


def request_purge(session: Session, *, event_type: str, by: str) -> PurgeRequest:
    """Ask to purge the payloads of `event_type` events whose retention has ended; the requester is the
    first approver, a different person must approve."""
    policy = session.get(RetentionPolicy, event_type)
    if policy is None:
        raise InvalidInput(f"{event_type} events have no retention period: their payloads are kept for ever")
    request = PurgeRequest(
        id=uuid.uuid4(),
        event_type=event_type,
        cutoff=utcnow() - timedelta(days=policy.retain_days),
        through_seq=chain_head(session),
        requested_by=by,
        requested_at=utcnow(),
    )
    session.add(request)
    session.flush()
    session.add(PurgeApproval(request_id=request.id, approver=by, approved_at=utcnow()))
    audit_store.append(
        session,
        event_type=events.AUDIT_PURGE_REQUESTED,
        actor=by,
        subject=f"purge_request:{request.id}",
        payload={
            "event_type": event_type,
            "cutoff": format_ts(request.cutoff),
            "through_seq": request.through_seq,
            "retain_days": policy.retain_days,
        },
    )
    session.flush()
    return request


@dataclass(frozen=True)
class PurgeOutcome:
    request: PurgeRequest
    approvers: list[str]
    executed: bool
    purged: int = 0
    held: int = 0


def approve_purge(session: Session, *, request_id: uuid.UUID, by: str) -> PurgeOutcome:
    """Approve a purge; with two different approvers it is carried out at once."""
    request = session.get(PurgeRequest, request_id, with_for_update=True)
    if request is None:
        raise NotFound(f"no purge request {request_id}")
    if request.executed_at is not None:
        raise Conflict(f"purge request {request_id} was carried out already")
    approvers = set(
        session.scalars(select(PurgeApproval.approver).where(PurgeApproval.request_id == request_id))
    )
    if by in approvers:
        raise PermissionDenied("a purge needs two different approvers: you approved this one already")
    session.add(PurgeApproval(request_id=request_id, approver=by, approved_at=utcnow()))
    audit_store.append(
        session,
        event_type=events.AUDIT_PURGE_APPROVED,
        actor=by,
        subject=f"purge_request:{request_id}",
        payload={"approvers": sorted(approvers | {by})},
    )
    session.flush()
    approvers.add(by)
    if len(approvers) < 2:
        return PurgeOutcome(request=request, approvers=sorted(approvers), executed=False)
    purged, held = session.execute(text("SELECT * FROM audit.purge_payloads(:id)"), {"id": request_id}).one()
    audit_store.append(
        session,
        event_type=events.AUDIT_PAYLOADS_PURGED,
        actor=by,
        subject=f"purge_request:{request_id}",
        payload={
            "request_id": str(request_id),
            "event_type": request.event_type,
            "cutoff": format_ts(request.cutoff),
            "through_seq": request.through_seq,
            "purged": int(purged),
            "held": int(held),
            "approvers": sorted(approvers),
        },
    )
    session.refresh(request)
    return PurgeOutcome(request=request, approvers=sorted(approvers), executed=True, purged=purged, held=held)


def pending_requests(session: Session) -> list[PurgeRequest]:
    return list(
        session.scalars(
            select(PurgeRequest).where(PurgeRequest.executed_at.is_(None)).order_by(PurgeRequest.requested_at)
        )
    )


def approvals_of(session: Session, request_id: uuid.UUID) -> int:
    return int(
        session.scalar(
            select(func.count()).select_from(PurgeApproval).where(PurgeApproval.request_id == request_id)
        )
        or 0
    )
