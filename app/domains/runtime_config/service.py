"""The runtime settings store. Each change validates the whole value against its section's model, stores
it as the section's next version (who, when, why; the previous value is the version before), carries it
out through the section's `apply`, and records a `settings.changed` audit event with before and after —
all in the caller's transaction. A rollback stores an old value as a new version, so history is never
rewritten."""

from __future__ import annotations

import json
from collections.abc import Mapping
from typing import Any

from pydantic import BaseModel, ValidationError
from sqlalchemy import func, select, text
from sqlalchemy.orm import Session

from app.core.db import utcnow
from app.core.errors import Conflict, InvalidInput, NotFound
from app.domains.runtime_config import operations as _operations  # noqa: F401 - registers its sections
from app.domains.runtime_config import sections as _builtin  # noqa: F401 - registers the built-in sections
from app.domains.runtime_config.models import ConfigVersion
from app.domains.runtime_config.registry import Section, section, sections
from app.domains.runtime_config.schemas import Change, CurrentOut, DiffOut, VersionOut
from audit import events
from audit import store as audit_store

__all__ = ["change", "current", "diff", "rollback", "sections", "value_of", "versions"]


def _latest(session: Session, key: str) -> ConfigVersion | None:
    return session.scalars(
        select(ConfigVersion)
        .where(ConfigVersion.section == key)
        .order_by(ConfigVersion.version.desc())
        .limit(1)
    ).first()


def _validated(found: Section, value: Mapping[str, Any]) -> BaseModel:
    try:
        return found.model.model_validate(dict(value))
    except ValidationError as exc:
        problems = "; ".join(
            f"{'.'.join(str(p) for p in e['loc']) or 'value'}: {e['msg']}" for e in exc.errors()
        )
        raise InvalidInput(f"invalid {found.key} settings: {problems}") from exc


def value_of(session: Session, *, key: str) -> BaseModel:
    """The section's value in force (its model instance)."""
    found = section(key)
    if found.read is not None:
        return found.read(session)
    latest = _latest(session, key)
    return found.model.model_validate(latest.value) if latest else found.model()


def current(session: Session, *, key: str) -> CurrentOut:
    found = section(key)
    latest = _latest(session, key)
    return CurrentOut(
        section=key,
        title=found.title,
        version=latest.version if latest else 0,
        value=value_of(session, key=key).model_dump(mode="json"),
        json_schema=found.model.model_json_schema(),
    )


def change(
    session: Session,
    *,
    key: str,
    value: Mapping[str, Any],
    by: str,
    reason: str | None = None,
    expected_version: int | None = None,
    rollback_of: int | None = None,
) -> VersionOut:
    """Store `value` as the section's next version (the value in force again: the latest version, no new
    one). `expected_version` (the version the change was based on) refuses a change made over someone
    else's meanwhile."""
    found = section(key)
    if "\\u0000" in json.dumps(dict(value)) or (reason and "\x00" in reason):
        raise InvalidInput("settings and their reason may not contain a NUL character")
    # One change of a section at a time: the next version number is read under this lock.
    session.execute(text("SELECT pg_advisory_xact_lock(hashtext(:key))"), {"key": f"runtime_config:{key}"})
    latest = _latest(session, key)
    number = latest.version if latest else 0
    if expected_version is not None and expected_version != number:
        raise Conflict(
            f"{key} settings changed meanwhile (now version {number}, not {expected_version}): "
            "reload and retry"
        )
    before = value_of(session, key=key)
    after = _validated(found, value)
    before_json, after_json = before.model_dump(mode="json"), after.model_dump(mode="json")
    changes = _diff(before_json, after_json)
    if not changes and latest is not None:
        return VersionOut.model_validate(latest)  # the same value again: no new version (an idempotent PUT)
    if not changes:
        raise InvalidInput(f"nothing to change: the {key} settings already have this value")
    if found.apply is not None:
        found.apply(session, before, after, by)
    row = ConfigVersion(
        section=key,
        version=number + 1,
        value=after_json,
        changed_by=by,
        changed_at=utcnow(),
        reason=reason.strip() if reason and reason.strip() else None,
        rollback_of=rollback_of,
    )
    session.add(row)
    audit_store.append(
        session,
        event_type=events.SETTINGS_CHANGED,
        actor=by,
        subject=f"settings:{key}",
        payload={
            "section": key,
            "version": row.version,
            "before": before_json,
            "after": after_json,
            "changes": [c.model_dump(mode="json") for c in changes],
            "reason": row.reason,
            "rollback_of": rollback_of,
        },
    )
    session.flush()
    return VersionOut.model_validate(row)


def versions(session: Session, *, key: str) -> list[VersionOut]:
    """Newest first."""
    section(key)
    rows = session.scalars(
        select(ConfigVersion).where(ConfigVersion.section == key).order_by(ConfigVersion.version.desc())
    )
    return [VersionOut.model_validate(r) for r in rows]


def _version(session: Session, key: str, number: int) -> ConfigVersion:
    row = session.scalars(
        select(ConfigVersion).where(ConfigVersion.section == key, ConfigVersion.version == number)
    ).first()
    if row is None:
        latest = session.scalar(select(func.max(ConfigVersion.version)).where(ConfigVersion.section == key))
        raise NotFound(f"{key} settings have no version {number} (versions 1..{latest or 0})")
    return row


def _diff(before: Any, after: Any, path: tuple[str, ...] = ()) -> list[Change]:
    if isinstance(before, dict) and isinstance(after, dict):
        found: list[Change] = []
        for k in sorted(set(before) | set(after), key=str):
            found += _diff(before.get(k), after.get(k), (*path, str(k)))
        return found
    return [] if before == after else [Change(path=list(path), before=before, after=after)]


def diff(session: Session, *, key: str, from_version: int, to_version: int) -> DiffOut:
    """What changed from one version to another; version 0 is the model's defaults."""
    found = section(key)

    def value(number: int) -> dict[str, Any]:
        if number == 0:
            return found.model().model_dump(mode="json")
        return _version(session, key, number).value

    return DiffOut(
        section=key,
        from_version=from_version,
        to_version=to_version,
        changes=_diff(value(from_version), value(to_version)),
    )


def rollback(
    session: Session, *, key: str, to_version: int, by: str, reason: str | None = None
) -> VersionOut:
    """Make an earlier version's value current again, as a new version."""
    old = _version(session, key, to_version)
    return change(
        session,
        key=key,
        value=old.value,
        by=by,
        reason=reason or f"roll back to version {to_version}",
        rollback_of=to_version,
    )
