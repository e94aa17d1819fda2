"""Databases for tests: one embedded server per session, a migrated template, a fresh copy per test."""

from __future__ import annotations

import uuid

import psycopg
from psycopg import sql

from app.runtime import migrate
from app.runtime.postgres import EmbeddedPostgres

TEMPLATE = "plinth_template"


def create_template(pg: EmbeddedPostgres) -> None:
    with psycopg.connect(pg.url("postgres"), autocommit=True) as conn:
        conn.execute(sql.SQL("DROP DATABASE IF EXISTS {}").format(sql.Identifier(TEMPLATE)))
        conn.execute(sql.SQL("CREATE DATABASE {}").format(sql.Identifier(TEMPLATE)))
    migrate.upgrade(pg.url(TEMPLATE))


def create_copy(pg: EmbeddedPostgres, prefix: str = "t") -> str:
    name = f"{prefix}_{uuid.uuid4().hex[:12]}"
    with psycopg.connect(pg.url("postgres"), autocommit=True) as conn:
        conn.execute(
            sql.SQL("CREATE DATABASE {} TEMPLATE {}").format(sql.Identifier(name), sql.Identifier(TEMPLATE))
        )
    return name


def drop(pg: EmbeddedPostgres, name: str) -> None:
    with psycopg.connect(pg.url("postgres"), autocommit=True) as conn:
        conn.execute(sql.SQL("DROP DATABASE IF EXISTS {} WITH (FORCE)").format(sql.Identifier(name)))
