"""Settings and the Retention and legal holds page: reads for admins and compliance, changes for admins,
each change in one transaction with its audit events (the store's and audit.retention's)."""

from __future__ import annotations

import uuid
from dataclasses import dataclass
from typing import Any

from app.console.access import Access, deny
from app.core.db import session_scope
from app.core.errors import InvalidInput, PermissionDenied
from app.domains.principals import service as principals
from app.domains.runtime_config import service as runtime_config
from app.domains.runtime_config.schemas import CurrentOut, DiffOut, VersionOut
from app.domains.runtime_config.sections import RETENTION
from audit import retention
from audit.models import LegalHold


def _by(access: Access) -> str:
    return principals.actor(access.caller.principal_id)


def current(access: Access, *, key: str) -> CurrentOut:
    with session_scope() as session:
        return runtime_config.current(session, key=key)


def all_current(access: Access) -> list[CurrentOut]:
    with session_scope() as session:
        return [runtime_config.current(session, key=s.key) for s in runtime_config.sections()]


def change(
    access: Access, *, key: str, value: dict[str, Any], reason: str | None, expected_version: int | None
) -> VersionOut:
    with session_scope() as session:
        return runtime_config.change(
            session, key=key, value=value, by=_by(access), reason=reason, expected_version=expected_version
        )


def versions(access: Access, *, key: str) -> list[VersionOut]:
    with session_scope() as session:
        return runtime_config.versions(session, key=key)


def diff(access: Access, *, key: str, from_version: int | None, to_version: int | None) -> DiffOut:
    """Defaults: the latest version, against the one before it."""
    with session_scope() as session:
        to = to_version if to_version is not None else runtime_config.current(session, key=key).version
        since = from_version if from_version is not None else max(to - 1, 0)
        return runtime_config.diff(session, key=key, from_version=since, to_version=to)


def rollback(access: Access, *, key: str, to_version: int, reason: str | None) -> VersionOut:
    with session_scope() as session:
        return runtime_config.rollback(session, key=key, to_version=to_version, by=_by(access), reason=reason)


@dataclass(frozen=True)
class PurgeRow:
    id: uuid.UUID
    event_type: str
    cutoff: str
    through_seq: int
    requested_by: str
    approvals: int


@dataclass(frozen=True)
class RetentionPage:
    settings: CurrentOut
    history: list[VersionOut]
    holds: list[LegalHold]
    purges: list[PurgeRow]


def retention_page(access: Access) -> RetentionPage:
    with session_scope() as session:
        purges = [
            PurgeRow(
                id=r.id,
                event_type=r.event_type,
                cutoff=r.cutoff.strftime("%Y-%m-%d %H:%M"),
                through_seq=r.through_seq,
                requested_by=r.requested_by,
                approvals=retention.approvals_of(session, r.id),
            )
            for r in retention.pending_requests(session)
        ]
        return RetentionPage(
            settings=runtime_config.current(session, key=RETENTION),
            history=runtime_config.versions(session, key=RETENTION),
            holds=retention.holds(session),
            purges=purges,
        )


def set_period(
    access: Access, *, event_type: str, days: int, reason: str | None, expected_version: int | None
) -> VersionOut:
    """One event type's period changed (or added): the section's next version."""
    with session_scope() as session:
        periods = dict(runtime_config.current(session, key=RETENTION).value["periods"])
        periods[event_type.strip()] = days
        return runtime_config.change(
            session,
            key=RETENTION,
            value={"periods": periods},
            by=_by(access),
            reason=reason,
            expected_version=expected_version,
        )


def place_hold(access: Access, *, reason: str, scope: dict[str, str | None]) -> uuid.UUID:
    if any("\x00" in v for v in (reason, *scope.values()) if v):
        raise InvalidInput("a legal hold's reason and scope may not contain a NUL character")
    with session_scope() as session:
        clean = {k: (v.strip() or None) if v else None for k, v in scope.items()}
        return retention.place_hold(session, reason=reason.strip(), by=_by(access), **clean).id


def release_hold(access: Access, *, hold_id: uuid.UUID) -> None:
    with session_scope() as session:
        retention.release_hold(session, hold_id=hold_id, by=_by(access))


def request_purge(access: Access, *, event_type: str) -> uuid.UUID:
    with session_scope() as session:
        return retention.request_purge(session, event_type=event_type, by=_by(access)).id


def approve_purge(access: Access, *, request_id: uuid.UUID) -> tuple[bool, int, int]:
    """(carried out, payloads purged, payloads kept under a hold). A second approval by the requester is
    refused and the refusal audited."""
    try:
        with session_scope() as session:
            outcome = retention.approve_purge(session, request_id=request_id, by=_by(access))
            return outcome.executed, outcome.purged, outcome.held
    except PermissionDenied as exc:
        raise deny(access.caller, f"approve purge request {request_id}", exc.message) from exc
