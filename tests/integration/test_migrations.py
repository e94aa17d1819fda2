from __future__ import annotations

import psycopg
from alembic.autogenerate import compare_metadata
from alembic.migration import MigrationContext
from sqlalchemy import create_engine

from app.core.db import sqlalchemy_url
from app.runtime import migrate
from app.runtime.postgres import EmbeddedPostgres
from migrations.metadata import include_name, target_metadata
from tests.support import databases


def test_schema_has_pgvector_0_8_and_an_audit_schema(database_url: str) -> None:
    with psycopg.connect(database_url) as conn:
        version = conn.execute("SELECT extversion FROM pg_extension WHERE extname = 'vector'").fetchone()
        assert version is not None
        assert tuple(int(x) for x in version[0].split(".")[:2]) >= (0, 8)
        assert conn.execute("SELECT 1 FROM pg_namespace WHERE nspname = 'audit'").fetchone()
        server = conn.execute("SHOW server_version_num").fetchone()
        assert server is not None
        assert int(server[0]) >= 180000


def test_migrations_go_down_to_nothing_and_up_again(pg: EmbeddedPostgres) -> None:
    name = databases.create_copy(pg, prefix="mig")
    url = pg.url(name)
    try:
        migrate.downgrade(url, "base")
        with psycopg.connect(url) as conn:
            assert conn.execute("SELECT to_regclass('public.chunks')").fetchone() == (None,)
        migrate.upgrade(url)
        with psycopg.connect(url) as conn:
            assert conn.execute("SELECT to_regclass('public.chunks')").fetchone() == ("chunks",)
    finally:
        databases.drop(pg, name)


def test_models_match_the_migrated_schema(database_url: str) -> None:
    engine = create_engine(sqlalchemy_url(database_url))
    try:
        with engine.connect() as conn:
            context = MigrationContext.configure(
                conn,
                opts={"include_schemas": True, "include_name": include_name, "compare_type": True},
            )
            differences = compare_metadata(context, target_metadata)
    finally:
        engine.dispose()
    assert differences == []
