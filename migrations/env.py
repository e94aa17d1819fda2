"""Alembic environment: the URL comes from the Config that `app.runtime.migrate` builds."""

from __future__ import annotations

from alembic import context
from sqlalchemy import create_engine, pool

from migrations.metadata import include_name, target_metadata


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
