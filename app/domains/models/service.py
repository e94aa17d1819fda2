"""The model registry (endpoints, served names, context lengths, prices) and versioned prompt templates.
Changes are audited in the same transaction; answers record which model and prompt version they used."""

from __future__ import annotations

import difflib
import re
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any

from sqlalchemy import func, select, update
from sqlalchemy.orm import Session

from app.core.db import utcnow
from app.core.errors import Conflict, InvalidInput, NotFound
from app.core.settings import get_settings
from app.domains.models.models import LlmModel, PromptTemplateRow
from audit import store as audit_store
from rag.llm import Endpoint, configured_endpoints
from rag.prompts import DEFAULT_ANSWER, PromptTemplate

MODEL_REGISTERED = "model.registered"
MODEL_CHANGED = "model.changed"
PROMPT_PUBLISHED = "prompt.published"
PROMPT_ACTIVATED = "prompt.activated"

_NAME = re.compile(r"^[a-z0-9][a-z0-9._-]{0,62}$")
_URL = re.compile(r"^https?://[^\s/]+(/\S*)?$")


@dataclass(frozen=True)
class Pricing:
    price_in_per_1k: float
    price_out_per_1k: float
    gpu_hour_cost: float | None = None
    throughput_tokens_per_s: float | None = None


def _check_name(name: str, what: str) -> str:
    if not _NAME.match(name):
        raise InvalidInput(f"{what} {name!r} must be lowercase letters, digits, '.', '_' or '-' (max 63)")
    return name


def _check_model(
    *,
    base_url: str,
    context_length: int,
    price_in_per_1k: float,
    price_out_per_1k: float,
    gpu_hour_cost: float | None,
    throughput_tokens_per_s: float | None,
) -> None:
    if not _URL.match(base_url):
        raise InvalidInput(f"endpoint {base_url!r} is not an http(s) URL (e.g. http://vllm:8000/v1)")
    if context_length < 256:
        raise InvalidInput(f"context length {context_length} is too small (at least 256 tokens)")
    if min(price_in_per_1k, price_out_per_1k) < 0 or (gpu_hour_cost is not None and gpu_hour_cost < 0):
        raise InvalidInput("prices cannot be negative")
    if (gpu_hour_cost is None) != (throughput_tokens_per_s is None):
        raise InvalidInput("GPU-hour pricing needs both the hourly cost and the measured throughput")
    if throughput_tokens_per_s is not None and throughput_tokens_per_s <= 0:
        raise InvalidInput("the measured throughput must be positive (tokens per second)")


# What `update_model` may change (the name is the model's identity).
MODEL_FIELDS = (
    "base_url",
    "served_model",
    "context_length",
    "priority",
    "enabled",
    "price_in_per_1k",
    "price_out_per_1k",
    "gpu_hour_cost",
    "throughput_tokens_per_s",
)
_CHECKED = (
    "base_url",
    "context_length",
    "price_in_per_1k",
    "price_out_per_1k",
    "gpu_hour_cost",
    "throughput_tokens_per_s",
)


def register_model(
    session: Session,
    *,
    name: str,
    base_url: str,
    served_model: str,
    context_length: int,
    price_in_per_1k: float = 0.0,
    price_out_per_1k: float = 0.0,
    gpu_hour_cost: float | None = None,
    throughput_tokens_per_s: float | None = None,
    priority: int = 100,
    actor: str,
) -> LlmModel:
    _check_name(name, "model name")
    _check_model(
        base_url=base_url,
        context_length=context_length,
        price_in_per_1k=price_in_per_1k,
        price_out_per_1k=price_out_per_1k,
        gpu_hour_cost=gpu_hour_cost,
        throughput_tokens_per_s=throughput_tokens_per_s,
    )
    if session.scalar(select(LlmModel.id).where(LlmModel.name == name)) is not None:
        raise Conflict(f"a model named {name!r} is already registered")
    model = LlmModel(
        name=name,
        base_url=base_url.rstrip("/"),
        served_model=served_model,
        context_length=context_length,
        priority=priority,
        price_in_per_1k=price_in_per_1k,
        price_out_per_1k=price_out_per_1k,
        gpu_hour_cost=gpu_hour_cost,
        throughput_tokens_per_s=throughput_tokens_per_s,
    )
    session.add(model)
    session.flush()
    audit_store.append(
        session,
        event_type=MODEL_REGISTERED,
        actor=actor,
        subject=f"model:{name}",
        payload={
            "base_url": model.base_url,
            "served_model": served_model,
            "context_length": context_length,
            "priority": priority,
            "price_in_per_1k": price_in_per_1k,
            "price_out_per_1k": price_out_per_1k,
            "gpu_hour_cost": gpu_hour_cost,
            "throughput_tokens_per_s": throughput_tokens_per_s,
        },
    )
    return model


def get_model(session: Session, *, name: str) -> LlmModel:
    model = session.scalar(select(LlmModel).where(LlmModel.name == name))
    if model is None:
        raise NotFound(f"no model named {name!r} is registered (see `plinth model list`)")
    return model


def set_enabled(session: Session, *, name: str, enabled: bool, actor: str) -> LlmModel:
    model = get_model(session, name=name)
    model.enabled, model.updated_at = enabled, utcnow()
    audit_store.append(
        session, event_type=MODEL_CHANGED, actor=actor, subject=f"model:{name}", payload={"enabled": enabled}
    )
    session.flush()
    return model


def update_model(session: Session, *, name: str, actor: str, **fields: Any) -> LlmModel:
    """Change a registered model's endpoint, served name, context, priority, state or prices; audits
    what changed (nothing when nothing did)."""
    unknown = sorted(set(fields) - set(MODEL_FIELDS))
    if unknown:
        raise InvalidInput(f"a model has no field {', '.join(unknown)}")
    model = get_model(session, name=name)
    wanted = {f: getattr(model, f) for f in MODEL_FIELDS} | fields
    wanted["base_url"] = str(wanted["base_url"]).rstrip("/")
    _check_model(**{k: wanted[k] for k in _CHECKED})
    changed = {f: v for f, v in wanted.items() if getattr(model, f) != v}
    if not changed:
        return model
    for field_name, value in changed.items():
        setattr(model, field_name, value)
    model.updated_at = utcnow()
    audit_store.append(
        session, event_type=MODEL_CHANGED, actor=actor, subject=f"model:{name}", payload=changed
    )
    session.flush()
    return model


def list_models(session: Session) -> Sequence[LlmModel]:
    return session.scalars(select(LlmModel).order_by(LlmModel.priority, LlmModel.name)).all()


def endpoints(session: Session) -> list[Endpoint]:
    """Enabled registered models in failover order; the settings' endpoints when none is registered."""
    settings = get_settings().llm
    api_key = settings.api_key.get_secret_value() if settings.api_key else None
    rows = session.scalars(
        select(LlmModel).where(LlmModel.enabled).order_by(LlmModel.priority, LlmModel.name)
    ).all()
    if not rows:
        return configured_endpoints(settings)
    return [
        Endpoint(
            name=m.name,
            base_url=m.base_url,
            model=m.served_model,
            context_length=m.context_length,
            api_key=api_key,
        )
        for m in rows
    ]


def pricing(session: Session, *, endpoint_name: str) -> Pricing:
    """What an endpoint's tokens cost: its registry prices, or the settings' for configured endpoints."""
    model = session.scalar(select(LlmModel).where(LlmModel.name == endpoint_name))
    if model is None:
        usage = get_settings().usage
        return Pricing(
            usage.price_in_per_1k, usage.price_out_per_1k, usage.gpu_hour_cost, usage.throughput_tokens_per_s
        )
    return Pricing(
        model.price_in_per_1k, model.price_out_per_1k, model.gpu_hour_cost, model.throughput_tokens_per_s
    )


def publish_prompt(
    session: Session,
    *,
    name: str,
    system: str,
    user_template: str,
    actor: str,
    note: str | None = None,
    activate: bool = True,
) -> PromptTemplateRow:
    """Store a new version (`<name>-v<n>`); versions are never edited, so an answer's version says
    exactly what the model was sent."""
    _check_name(name, "prompt name")
    if not system.strip():
        raise InvalidInput("the system prompt is empty")
    try:
        PromptTemplate(name=name, version="", system=system, user=user_template).validate()
    except ValueError as exc:
        raise InvalidInput(str(exc)) from exc
    # Serialise publishers of one name so version numbers stay gapless and unique.
    session.execute(select(func.pg_advisory_xact_lock(func.hashtext(f"prompt:{name}"))))
    count = session.scalar(select(func.count()).where(PromptTemplateRow.name == name)) or 0
    if name == DEFAULT_ANSWER.name:
        count += 1  # the built-in version is v1
    row = PromptTemplateRow(
        name=name,
        version=f"{name}-v{count + 1}",
        system=system,
        user_template=user_template,
        note=note,
        created_by=actor,
    )
    session.add(row)
    session.flush()
    audit_store.append(
        session,
        event_type=PROMPT_PUBLISHED,
        actor=actor,
        subject=f"prompt:{row.version}",
        payload={"system": system, "user_template": user_template, "note": note},
    )
    if activate:
        activate_prompt(session, version=row.version, actor=actor)
        session.refresh(row)
    return row


def activate_prompt(session: Session, *, version: str, actor: str) -> None:
    """Make a stored version active; the built-in version is made active by deactivating the rest."""
    row = session.scalar(select(PromptTemplateRow).where(PromptTemplateRow.version == version))
    if row is None and version != DEFAULT_ANSWER.version:
        raise NotFound(f"no prompt version {version!r} (see `plinth prompt list`)")
    name = row.name if row is not None else DEFAULT_ANSWER.name
    session.execute(
        update(PromptTemplateRow)
        .where(PromptTemplateRow.name == name, PromptTemplateRow.active)
        .values(active=False)
    )
    session.flush()
    if row is not None:
        row.active = True
    audit_store.append(
        session, event_type=PROMPT_ACTIVATED, actor=actor, subject=f"prompt:{version}", payload={}
    )
    session.flush()


def list_prompts(session: Session, *, name: str | None = None) -> Sequence[PromptTemplateRow]:
    query = select(PromptTemplateRow).order_by(PromptTemplateRow.name, PromptTemplateRow.created_at)
    if name is not None:
        query = query.where(PromptTemplateRow.name == name)
    return session.scalars(query).all()


def active_prompt(session: Session, *, name: str = DEFAULT_ANSWER.name) -> PromptTemplate:
    """The active version of a prompt; the built-in one until a version is published."""
    row = session.scalar(
        select(PromptTemplateRow).where(PromptTemplateRow.name == name, PromptTemplateRow.active)
    )
    if row is None:
        if name != DEFAULT_ANSWER.name:
            raise NotFound(f"no active version of prompt {name!r}")
        return DEFAULT_ANSWER
    return PromptTemplate(name=row.name, version=row.version, system=row.system, user=row.user_template)


def prompt_version(session: Session, *, version: str) -> PromptTemplate:
    """Any stored version (or the built-in one), to reproduce an answer."""
    if version == DEFAULT_ANSWER.version:
        return DEFAULT_ANSWER
    row = session.scalar(select(PromptTemplateRow).where(PromptTemplateRow.version == version))
    if row is None:
        raise NotFound(f"no prompt version {version!r}")
    return PromptTemplate(name=row.name, version=row.version, system=row.system, user=row.user_template)


@dataclass(frozen=True)
class PromptVersion:
    name: str
    version: str
    system: str
    user_template: str
    active: bool
    note: str | None
    created_by: str
    created_at: datetime | None  # None: the built-in version
    builtin: bool = False


@dataclass(frozen=True)
class PromptDiff:
    from_version: str
    to_version: str
    system: list[str]  # unified diff lines, empty when the part is the same
    user: list[str]


def prompt_history(session: Session) -> list[PromptVersion]:
    """Every version of every prompt, the built-in answer-v1 first among its name's; which is active."""
    rows = list_prompts(session)
    builtin_active = not any(r.active for r in rows if r.name == DEFAULT_ANSWER.name)
    found = [
        PromptVersion(
            name=DEFAULT_ANSWER.name,
            version=DEFAULT_ANSWER.version,
            system=DEFAULT_ANSWER.system,
            user_template=DEFAULT_ANSWER.user,
            active=builtin_active,
            note="built in",
            created_by="plinth",
            created_at=None,
            builtin=True,
        )
    ]
    found += [
        PromptVersion(
            name=r.name,
            version=r.version,
            system=r.system,
            user_template=r.user_template,
            active=r.active,
            note=r.note,
            created_by=r.created_by,
            created_at=r.created_at,
        )
        for r in rows
    ]
    return sorted(
        found, key=lambda p: (p.name, not p.builtin, p.created_at or datetime.min.replace(tzinfo=UTC))
    )


def diff_prompts(session: Session, *, from_version: str | None, to_version: str | None) -> PromptDiff:
    """What changed from one version to another, part by part, as unified diff lines. Defaults: the
    active answer prompt, against the version of the same prompt published before it."""
    after = prompt_version(session, version=to_version) if to_version else active_prompt(session)
    if from_version is None:
        same = [p.version for p in prompt_history(session) if p.name == after.name]
        from_version = same[max(same.index(after.version) - 1, 0)]
    to_version = after.version
    before = prompt_version(session, version=from_version)

    def lines(a: str, b: str) -> list[str]:
        return list(
            difflib.unified_diff(
                a.splitlines(), b.splitlines(), fromfile=from_version, tofile=to_version, lineterm=""
            )
        )

    return PromptDiff(
        from_version=from_version,
        to_version=to_version,
        system=lines(before.system, after.system),
        user=lines(before.user, after.user),
    )
