"""The runtime settings store over the JSON API: sections, versions, diff, change and rollback."""

from __future__ import annotations

from fastapi import APIRouter, Depends, Path, Query
from starlette.concurrency import run_in_threadpool

from app.console import settings_views
from app.console.access import Access, Permission, require
from app.console.schemas import RollbackIn, SettingsChangeIn
from app.domains.runtime_config.schemas import CurrentOut, DiffOut, VersionOut

router = APIRouter(prefix="/api/v1/settings", tags=["settings"])
READ = require(Permission.SETTINGS_READ)
CHANGE = require(Permission.SETTINGS_CHANGE)
MAX_VERSION = 2**31 - 1  # the versions column is an integer


@router.get("", response_model=list[CurrentOut])
async def sections(access: Access = Depends(READ)) -> list[CurrentOut]:
    return await run_in_threadpool(settings_views.all_current, access)


@router.get("/{key}", response_model=CurrentOut)
async def section(key: str, access: Access = Depends(READ)) -> CurrentOut:
    return await run_in_threadpool(settings_views.current, access, key=key)


@router.put("/{key}", response_model=VersionOut)
async def change(key: str, body: SettingsChangeIn, access: Access = Depends(CHANGE)) -> VersionOut:
    """Store a new version of the section (validated, carried out and audited in one transaction)."""
    return await run_in_threadpool(
        settings_views.change,
        access,
        key=key,
        value=body.value,
        reason=body.reason,
        expected_version=body.expected_version,
    )


@router.get("/{key}/versions", response_model=list[VersionOut])
async def versions(key: str, access: Access = Depends(READ)) -> list[VersionOut]:
    return await run_in_threadpool(settings_views.versions, access, key=key)


@router.get("/{key}/diff", response_model=DiffOut)
async def diff(
    key: str,
    from_version: int | None = Query(
        None,
        alias="from",
        ge=0,
        le=MAX_VERSION,
        description="Default: the version before `to`; 0: the section's defaults.",
    ),
    to_version: int | None = Query(
        None, alias="to", ge=0, le=MAX_VERSION, description="Default: the latest version."
    ),
    access: Access = Depends(READ),
) -> DiffOut:
    return await run_in_threadpool(
        settings_views.diff, access, key=key, from_version=from_version, to_version=to_version
    )


@router.post("/{key}/versions/{version}/rollback", response_model=VersionOut)
async def rollback(
    key: str,
    body: RollbackIn,
    version: int = Path(ge=1, le=MAX_VERSION),
    access: Access = Depends(CHANGE),
) -> VersionOut:
    """Make an earlier version current again (stored as a new version)."""
    return await run_in_threadpool(
        settings_views.rollback, access, key=key, to_version=version, reason=body.reason
    )
