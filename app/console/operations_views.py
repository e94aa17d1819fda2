"""The operations settings in the console: Slack channels, email intake, budgets and rate limits and the
model registry (sections of the runtime settings store, so every change is a version with
`settings.changed` and its domain's own audit event), and prompt versions (domain records that carry
their own versions and audit their own changes)."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from app.console import settings_views
from app.console.access import Access
from app.core.db import session_scope
from app.core.errors import InvalidInput, NotFound
from app.domains.channels import service as channels
from app.domains.models import service as models
from app.domains.models.models import LlmModel
from app.domains.principals import service as principals
from app.domains.runtime_config import service as runtime_config
from app.domains.runtime_config.operations import BUDGETS, CHANNELS, EMAIL, MODELS
from app.domains.runtime_config.schemas import CurrentOut, VersionOut


@dataclass(frozen=True)
class ChannelRow:
    audience: str
    name: str | None
    members: int
    has_external_members: bool
    settings: dict[str, Any]


@dataclass(frozen=True)
class ChannelsPage:
    section: CurrentOut
    rows: list[ChannelRow]


def channels_page(access: Access) -> ChannelsPage:
    with session_scope() as session:
        section = runtime_config.current(session, key=CHANNELS)
        rows = [
            ChannelRow(
                audience=c.audience,
                name=c.name,
                members=len(channels.audience_members(session, audience=c.audience)),
                has_external_members=c.has_external_members,
                settings=section.value["channels"].get(c.audience, {}),
            )
            for c in channels.list_channels(session)
        ]
        return ChannelsPage(section=section, rows=rows)


def _change_entry(
    access: Access,
    *,
    key: str,
    part: str,
    entry: str,
    value: dict[str, Any] | None,
    reason: str | None,
    version: int | None,
) -> VersionOut:
    """One entry of a section's mapping set (or removed, with None): the section's next version."""
    with session_scope() as session:
        whole = dict(runtime_config.current(session, key=key).value)
    entries = dict(whole[part])
    if value is None:
        if entry not in entries:
            raise InvalidInput(f"there is no {entry!r} to remove")
        entries.pop(entry)
    else:
        entries[entry] = value
    return settings_views.change(
        access, key=key, value={**whole, part: entries}, reason=reason, expected_version=version
    )


def configure_channel(
    access: Access, *, audience: str, settings: dict[str, Any], reason: str | None, version: int | None
) -> VersionOut:
    return _change_entry(
        access, key=CHANNELS, part="channels", entry=audience, value=settings, reason=reason, version=version
    )


def email_settings(access: Access) -> CurrentOut:
    return settings_views.current(access, key=EMAIL)


def set_email(
    access: Access, *, addresses: list[str], domains: list[str], reason: str | None, version: int | None
) -> VersionOut:
    return settings_views.change(
        access,
        key=EMAIL,
        value={"addresses": addresses, "allowed_domains": [d.lower() for d in domains]},
        reason=reason,
        expected_version=version,
    )


def budgets(access: Access) -> CurrentOut:
    return settings_views.current(access, key=BUDGETS)


def set_budget(
    access: Access, *, key: str, limits: dict[str, Any] | None, reason: str | None, version: int | None
) -> VersionOut:
    """Create, replace or (limits None) remove one budget."""
    return _change_entry(
        access, key=BUDGETS, part="budgets", entry=key, value=limits, reason=reason, version=version
    )


@dataclass(frozen=True)
class EndpointRow:
    name: str
    base_url: str
    model: str
    context_length: int | None


@dataclass(frozen=True)
class ModelsPage:
    section: CurrentOut
    registered: list[LlmModel]
    in_use: list[EndpointRow]  # what answers are sent to, in failover order


def models_page(access: Access) -> ModelsPage:
    with session_scope() as session:
        section = runtime_config.current(session, key=MODELS)
        registered = list(models.list_models(session))
        for m in registered:
            session.expunge(m)
        in_use = [
            EndpointRow(name=e.name, base_url=e.base_url, model=e.model, context_length=e.context_length)
            for e in models.endpoints(session)
        ]
        return ModelsPage(section=section, registered=registered, in_use=in_use)


def _actor(access: Access) -> str:
    return principals.actor(access.caller.principal_id)


def _registered(name: str) -> dict[str, Any] | None:
    with session_scope() as session:
        found: dict[str, Any] | None = runtime_config.current(session, key=MODELS).value["models"].get(name)
        return found


def register_model(
    access: Access, *, name: str, fields: dict[str, Any], reason: str | None, version: int | None
) -> VersionOut:
    """Register a model, or replace a registered one's settings: the registry's next version."""
    known = _registered(name)
    return _change_entry(
        access,
        key=MODELS,
        part="models",
        entry=name,
        value={"enabled": True, **(known or {}), **fields},
        reason=reason,
        version=version,
    )


def enable_model(access: Access, *, name: str, enabled: bool, version: int | None) -> VersionOut:
    known = _registered(name)
    if known is None:
        raise NotFound(f"no model named {name!r} is registered")
    return _change_entry(
        access,
        key=MODELS,
        part="models",
        entry=name,
        value={**known, "enabled": enabled},
        reason=None,
        version=version,
    )


def prompts(access: Access) -> list[models.PromptVersion]:
    with session_scope() as session:
        return models.prompt_history(session)


def prompt_diff(access: Access, *, from_version: str | None, to_version: str | None) -> models.PromptDiff:
    with session_scope() as session:
        return models.diff_prompts(session, from_version=from_version, to_version=to_version)


def activate_prompt(access: Access, *, version: str) -> None:
    with session_scope() as session:
        models.activate_prompt(session, version=version, actor=_actor(access))


def publish_prompt(access: Access, *, name: str, system: str, user_template: str, note: str | None) -> str:
    with session_scope() as session:
        row = models.publish_prompt(
            session,
            name=name,
            system=system,
            user_template=user_template,
            note=note or None,
            actor=_actor(access),
            activate=False,
        )
        return row.version
