"""The metadata migrations are compared against: every module that declares tables is imported here."""

from __future__ import annotations

import importlib

from app.core.db import Base

MODEL_MODULES = (
    "app.domains.principals.models",
    "app.domains.knowledge.models",
    "app.domains.knowledge.corpus",
    "app.domains.conversations.models",
    "app.domains.corrections.models",
    "app.console.models",
    "rag.store",
    "audit.models",
    "app.domains.models.models",
    "app.domains.usage.models",
    "app.domains.assistant.models",
    "app.domains.jobs.models",
    "app.domains.runtime_config.models",
    "app.domains.inbox.models",
    "app.domains.channels.models",
    "app.domains.installations.models",
)
for module in MODEL_MODULES:
    importlib.import_module(module)

target_metadata = Base.metadata


def include_name(name: str | None, type_: str, parent_names: object) -> bool:
    if type_ == "schema":
        return name in (None, "audit")
    return True
