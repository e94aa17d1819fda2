"""Helpers for audit tests: append through the real store, and an owner (superuser) connection for
tampering the way a database administrator could."""

from __future__ import annotations

from typing import Any

import psycopg

from app.core.db import session_scope
from audit import store


def append_events(count: int, *, event_type: str = "test.event", **fields: Any) -> None:
    with session_scope() as session:
        for i in range(count):
            store.append(session, event_type=event_type, actor="system", payload={"i": i}, **fields)


def tamper(database_url: str, *statements: str) -> None:
    """Run statements as the superuser with triggers disabled (session_replication_role = replica)."""
    with psycopg.connect(database_url) as conn:
        conn.execute("SET session_replication_role = replica")
        for statement in statements:
            conn.execute(statement)
