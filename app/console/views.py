"""What each console endpoint does, shared by the JSON API and the pages: one transaction each, with the
object-level checks (own questions only, no reviewing one's own correction, no changing one's own roles)
that a role alone does not decide."""

from __future__ import annotations

import uuid
from typing import Literal

from sqlalchemy import select
from sqlalchemy.orm import Session

from app.console.access import Access, Permission, deny
from app.console.schemas import DeliveryRow, EscalationRow, MeOut, PrincipalRow
from app.core.db import session_scope
from app.core.errors import Conflict, NotFound
from app.domains.conversations import analytics, browse, deliveries, escalations
from app.domains.conversations import service as conversations
from app.domains.conversations.models import Escalation
from app.domains.corrections import service as corrections
from app.domains.corrections.schemas import CorrectionOut
from app.domains.principals import service as principals
from app.domains.principals.models import ExternalIdentity, LocalCredential, Principal
from workers import client


def me(access: Access) -> MeOut:
    return MeOut(
        principal_id=access.caller.principal_id,
        handle=access.caller.handle,
        roles=sorted(access.caller.roles),
        permissions=sorted(p.value for p in Permission if access.can(p)),
    )


def dashboard(access: Access, *, days: int) -> analytics.Dashboard:
    with session_scope() as session:
        return analytics.dashboard(session, days=days)


def _own_only(access: Access, what: str) -> uuid.UUID | None:
    """None when the caller reads every conversation, else the principal whose own they may read."""
    if access.can(Permission.CONVERSATIONS_READ_ALL):
        return None
    if access.caller.principal_id is None:
        raise deny(access.caller, what, "the service token reads no conversations; use a personal token")
    return access.caller.principal_id


def conversations_page(
    access: Access, *, filters: browse.ConversationFilter, page: int, per_page: int
) -> browse.ConversationPage:
    asked_by = _own_only(access, "list conversations")
    with session_scope() as session:
        return browse.list_conversations(
            session, filters=filters, page=page, per_page=per_page, asked_by=asked_by
        )


def conversation(access: Access, *, message_id: uuid.UUID) -> browse.ConversationDetail:
    asked_by = _own_only(access, f"read conversation {message_id}")
    with session_scope() as session:
        found = browse.detail(
            session,
            message_id=message_id,
            with_audit=access.can(Permission.AUDIT_READ),
            with_payloads=access.can(Permission.AUDIT_READ_PAYLOADS),
        )
    # Someone else's question is reported exactly like a missing one.
    if found is None or (asked_by is not None and found.principal_id != asked_by):
        raise NotFound(f"no conversation {message_id}")
    return found


def channels() -> list[str]:
    with session_scope() as session:
        return browse.channels(session)


def corrections_list(access: Access, *, status: str | None) -> list[CorrectionOut]:
    with session_scope() as session:
        rows = corrections.list_corrections(session, status=status)
        return [CorrectionOut.model_validate(c) for c in rows]


def review(
    access: Access,
    *,
    correction_id: uuid.UUID,
    decision: Literal["approve", "reject"],
    text: str | None,
    note: str | None,
) -> CorrectionOut:
    with session_scope() as session:
        pending = corrections.get(session, correction_id=correction_id)
        own = pending.submitted_by == access.caller.principal_id
    if own:
        raise deny(
            access.caller,
            f"{decision} correction {correction_id}",
            "a correction is reviewed by someone other than its author",
        )
    with session_scope() as session:
        reviewed = corrections.review(
            session,
            correction_id=correction_id,
            reviewer_id=access.caller.principal_id,
            decision=decision,
            text=text if text and text.strip() else None,
            note=note.strip() if note and note.strip() else None,
        )
        return CorrectionOut.model_validate(reviewed)


def _escalation_rows(items: list[tuple[Escalation, str, str]]) -> list[EscalationRow]:
    return [
        EscalationRow(
            id=e.id,
            message_id=e.message_id,
            question=question,
            requested_by=handle,
            channel=e.channel,
            reason=e.reason,
            status=e.status,
            created_at=e.created_at,
        )
        for e, question, handle in items
    ]


def open_escalations(access: Access) -> list[EscalationRow]:
    with session_scope() as session:
        rows = []
        for e in escalations.open_escalations(session):
            message = conversations.get_message(session, message_id=e.message_id)
            requester = principals.get(session, principal_id=e.requested_by)
            rows.append((e, message.text, requester.handle))
        return _escalation_rows(rows)


def resolve(access: Access, *, escalation_id: uuid.UUID) -> EscalationRow:
    with session_scope() as session:
        e = escalations.resolve(session, escalation_id=escalation_id, by=access.caller.principal_id)
        message = conversations.get_message(session, message_id=e.message_id)
        requester = principals.get(session, principal_id=e.requested_by)
        return _escalation_rows([(e, message.text, requester.handle)])[0]


def failed_deliveries(access: Access) -> list[DeliveryRow]:
    with session_scope() as session:
        return [
            DeliveryRow(
                id=d.id,
                message_id=d.message_id,
                answer_id=d.answer_id,
                question=conversations.get_message(session, message_id=d.message_id).text,
                channel=d.channel,
                purpose=d.purpose,
                attempts=d.attempts,
                last_error=d.last_error,
                updated_at=d.updated_at,
            )
            for d in deliveries.failed(session)
        ]


def _principal_row(principal: Principal, sign_in: list[str]) -> PrincipalRow:
    return PrincipalRow(
        id=principal.id,
        handle=principal.handle,
        display_name=principal.display_name,
        email=principal.email,
        kind=principal.kind,
        roles=sorted(principal.roles),
        is_active=principal.is_active,
        sign_in=sign_in,
    )


def _sign_in_methods(session: Session, principal_ids: list[uuid.UUID]) -> dict[uuid.UUID, list[str]]:
    methods: dict[uuid.UUID, set[str]] = {pid: set() for pid in principal_ids}
    for pid, provider in session.execute(
        select(ExternalIdentity.principal_id, ExternalIdentity.provider).where(
            ExternalIdentity.principal_id.in_(principal_ids)
        )
    ):
        methods[pid].add(provider)
    for pid in session.scalars(
        select(LocalCredential.principal_id).where(LocalCredential.principal_id.in_(principal_ids))
    ):
        methods[pid].add("local")
    return {pid: sorted(found) for pid, found in methods.items()}


def principals_list(access: Access) -> list[PrincipalRow]:
    with session_scope() as session:
        people = list(principals.list_principals(session))
        methods = _sign_in_methods(session, [p.id for p in people])
        return [_principal_row(p, methods[p.id]) for p in people]


def change_roles(access: Access, *, principal_id: uuid.UUID, roles: list[str]) -> PrincipalRow:
    if principal_id == access.caller.principal_id:
        raise deny(
            access.caller,
            f"change the roles of principal {principal_id}",
            "nobody changes their own roles; ask another admin",
        )
    with session_scope() as session:
        principal = principals.get(session, principal_id=principal_id)
        principals.set_roles(session, principal=principal, roles=roles, by=access.caller.principal_id)
        return _principal_row(principal, _sign_in_methods(session, [principal.id])[principal.id])


def replay_delivery(access: Access, *, delivery_id: uuid.UUID) -> None:
    """Re-queue a failed delivery through its front end's task; nothing changes unless it is queued."""
    with session_scope() as session:
        delivery = deliveries.requeue(
            session, delivery_id=delivery_id, by=principals.actor(access.caller.principal_id)
        )
        if not client.enqueue_delivery(channel=delivery.channel, message_id=delivery.message_id):
            raise Conflict(f"{delivery.channel} has no delivery task: its callers fetch answers themselves")
