"""Alembic environment: the URL comes from the Config that `app.runtime.migrate` builds."""

from __future__ import annotations

import importlib

from alembic import context
from sqlalchemy import create_engine, pool

from app.core.db import Base

# Every module that declares tables; importing it registers them on Base.metadata.
MODEL_MODULES = (
    "app.domains.principals.models",
    "app.domains.knowledge.models",
    "app.domains.conversations.models",
    "rag.store",
    "audit.models",
)
for module in MODEL_MODULES:
    importlib.import_module(module)

target_metadata = Base.metadata


def include_name(name: str | None, type_: str, parent_names: object) -> bool:
    if type_ == "schema":
        return name in (None, "audit")
    return True


def run_migrations_online() -> None:
    url = context.config.get_main_option("sqlalchemy.url")
    assert url, "sqlalchemy.url must be set"
    engine = create_engine(url, poolclass=pool.NullPool)
    with engine.connect() as connection:
        context.configure(
            connection=connection,
            target_metadata=target_metadata,
            include_schemas=True,
            include_name=include_name,
            compare_type=True,
        )
        with context.begin_transaction():
            context.run_migrations()


run_migrations_online()
