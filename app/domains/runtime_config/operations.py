"""Sections over what operators change day to day: the email front end's accepted addresses and sender
domains (stored here; the email code reads the value in force, the environment's as version 0), and
Slack channel settings, budgets and the model registry, whose value in force lives in their own tables
(so a change made from the CLI is seen too) and whose changes are carried out through their domains'
services, each of which audits its own event beside `settings.changed`."""

from __future__ import annotations

import uuid
from collections.abc import Iterable
from typing import Annotated, Literal

from pydantic import BaseModel, ConfigDict, Field, StringConstraints
from sqlalchemy.orm import Session

from app.core.errors import InvalidInput, NotFound
from app.core.settings import get_settings
from app.domains.channels import service as channels
from app.domains.models import service as models
from app.domains.principals import service as principals
from app.domains.runtime_config.registry import Section, register
from app.domains.usage import service as usage

EMAIL = "email.intake"
CHANNELS = "slack.channels"
BUDGETS = "usage.budgets"
MODELS = "llm.models"

Address = Annotated[str, StringConstraints(pattern=r"^[^@\s]+@[^@\s]+\.[^@\s]+$", max_length=254)]
Domain = Annotated[
    str, StringConstraints(pattern=r"^([a-z0-9]([a-z0-9-]*[a-z0-9])?\.)+[a-z]{2,63}$", max_length=253)
]
Audience = Annotated[str, StringConstraints(pattern=r"^slack:[^:\s]+:[^:\s]+$", max_length=100)]
BudgetKey = Annotated[str, StringConstraints(pattern=r"^(user|team|channel):\S.{0,199}$")]
ModelName = Annotated[str, StringConstraints(pattern=r"^[a-z0-9][a-z0-9._-]{0,62}$")]


class EmailIntakeConfig(BaseModel):
    model_config = ConfigDict(extra="forbid")

    addresses: list[Address] = Field(
        default_factory=lambda: list(get_settings().email.addresses),
        description="Recipients accepted besides the question and documents addresses.",
    )
    allowed_domains: list[Domain] = Field(
        default_factory=lambda: [d.lower() for d in get_settings().email.allowed_domains],
        description="Anyone at these domains may write, besides known employees.",
    )


class ChannelConfig(BaseModel):
    model_config = ConfigDict(extra="forbid")

    enabled: bool = True
    scope: list[str] | None = Field(
        None,
        description="Access entries answers here may use (org, group:NAME, user:HANDLE); unset: members'.",
    )
    mentions_only: bool = False
    allowed_users: list[str] = Field(default_factory=list, description="Slack user ids; empty: everyone.")
    allow_external: bool = False


class ChannelsConfig(BaseModel):
    model_config = ConfigDict(extra="forbid")

    channels: dict[Audience, ChannelConfig] = Field(default_factory=dict)


class BudgetConfig(BaseModel):
    model_config = ConfigDict(extra="forbid")

    period: Literal["day", "month"] = "day"
    soft_tokens: int | None = None
    hard_tokens: int | None = None
    soft_cost: float | None = None
    hard_cost: float | None = None
    requests_per_minute: int | None = None


class BudgetsConfig(BaseModel):
    model_config = ConfigDict(extra="forbid")

    budgets: dict[BudgetKey, BudgetConfig] = Field(
        default_factory=dict, description="By user:HANDLE, team:SLACK_TEAM_ID or channel:NAME."
    )


class ModelConfig(BaseModel):
    model_config = ConfigDict(extra="forbid")

    base_url: str = Field(description="The OpenAI-compatible endpoint, e.g. http://vllm:8000/v1.")
    served_model: str = Field(description="The name the server serves the model under.")
    context_length: int
    priority: int = Field(100, description="Failover order among enabled models: lowest first.")
    enabled: bool = True
    price_in_per_1k: float = 0.0
    price_out_per_1k: float = 0.0
    gpu_hour_cost: float | None = None
    throughput_tokens_per_s: float | None = None


class ModelsConfig(BaseModel):
    model_config = ConfigDict(extra="forbid")

    models: dict[ModelName, ModelConfig] = Field(default_factory=dict)


def _principal_of(by: str) -> uuid.UUID | None:
    _, _, value = by.partition("principal:")
    try:
        return uuid.UUID(value) if by.startswith("principal:") else None
    except ValueError:
        return None


def _refuse_removal(before: Iterable[str], after: Iterable[str], what: str) -> None:
    removed = sorted(set(before) - set(after))
    if removed:
        raise InvalidInput(f"{what} cannot be removed ({', '.join(removed)}): disable it instead")


def _read_channels(session: Session) -> BaseModel:
    return ChannelsConfig(
        channels={
            c.audience: ChannelConfig(
                enabled=c.enabled,
                scope=sorted(principals.grant_spec(session, g) for g in c.scope) if c.scope else None,
                mentions_only=c.mentions_only,
                allowed_users=sorted(c.allowed_users),
                allow_external=c.allow_external,
            )
            for c in channels.list_channels(session)
        }
    )


def _apply_channels(session: Session, before: BaseModel, after: BaseModel, by: str) -> None:
    assert isinstance(before, ChannelsConfig)
    assert isinstance(after, ChannelsConfig)
    _refuse_removal(before.channels, after.channels, "a channel's settings")
    for audience, wanted in sorted(after.channels.items()):
        if before.channels.get(audience) == wanted:
            continue
        channels.configure(
            session,
            audience=audience,
            by=_principal_of(by),
            enabled=wanted.enabled,
            scope=wanted.scope or None,
            clear_scope=not wanted.scope,
            mentions_only=wanted.mentions_only,
            allowed_users=wanted.allowed_users,
            allow_external=wanted.allow_external,
        )


def _budget_key(session: Session, kind: str, value: str) -> str:
    """user:<principal id> is shown (and typed) as user:HANDLE."""
    return principals.grant_spec(session, f"{kind}:{value}")


def _budget_scope(session: Session, key: str) -> tuple[str, str]:
    kind, _, value = key.partition(":")
    if kind == "user":
        principal = principals.find_by_handle(session, handle=value)
        if principal is None:
            raise NotFound(f"no user with handle {value!r}")
        value = str(principal.id)
    return kind, value


def _read_budgets(session: Session) -> BaseModel:
    return BudgetsConfig(
        budgets={
            _budget_key(session, b.scope_kind, b.scope_value): BudgetConfig(
                period=b.period,
                soft_tokens=b.soft_tokens,
                hard_tokens=b.hard_tokens,
                soft_cost=b.soft_cost,
                hard_cost=b.hard_cost,
                requests_per_minute=b.requests_per_minute,
            )
            for b in usage.list_budgets(session)
        }
    )


def _apply_budgets(session: Session, before: BaseModel, after: BaseModel, by: str) -> None:
    assert isinstance(before, BudgetsConfig)
    assert isinstance(after, BudgetsConfig)
    for key in sorted(set(before.budgets) - set(after.budgets)):
        kind, value = _budget_scope(session, key)
        usage.remove_budget(session, kind=kind, value=value, actor=by)
    for key, wanted in sorted(after.budgets.items()):
        if before.budgets.get(key) != wanted:
            kind, value = _budget_scope(session, key)
            usage.set_budget(session, kind=kind, value=value, actor=by, **wanted.model_dump())


def _read_models(session: Session) -> BaseModel:
    return ModelsConfig(
        models={
            m.name: ModelConfig(**{field: getattr(m, field) for field in models.MODEL_FIELDS})
            for m in models.list_models(session)
        }
    )


def _apply_models(session: Session, before: BaseModel, after: BaseModel, by: str) -> None:
    assert isinstance(before, ModelsConfig)
    assert isinstance(after, ModelsConfig)
    _refuse_removal(before.models, after.models, "a registered model")
    for name, wanted in sorted(after.models.items()):
        if name not in before.models:
            fields = wanted.model_dump()
            enabled = fields.pop("enabled")
            models.register_model(session, name=name, actor=by, **fields)
            if not enabled:
                models.set_enabled(session, name=name, enabled=False, actor=by)
        elif before.models[name] != wanted:
            models.update_model(session, name=name, actor=by, **wanted.model_dump())


register(Section(key=EMAIL, title="Email intake", model=EmailIntakeConfig))
register(
    Section(
        key=CHANNELS, title="Slack channels", model=ChannelsConfig, read=_read_channels, apply=_apply_channels
    )
)
register(
    Section(
        key=BUDGETS,
        title="Budgets and rate limits",
        model=BudgetsConfig,
        read=_read_budgets,
        apply=_apply_budgets,
    )
)
register(
    Section(key=MODELS, title="Model registry", model=ModelsConfig, read=_read_models, apply=_apply_models)
)
