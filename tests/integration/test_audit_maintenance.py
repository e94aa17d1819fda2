"""The periodic audit job beat runs: one run at a time (advisory lock), checkpoints when due and
publishes them to the write-once store; and the ORM models of the audit schema match its migrations."""

from __future__ import annotations

import psycopg
from alembic.autogenerate import compare_metadata
from alembic.migration import MigrationContext
from sqlalchemy import create_engine

import audit.models
from app.core.db import Base, sqlalchemy_url
from audit import maintenance
from audit.signing import default_signer
from audit.wormstore import default_store
from tests.conftest import Env
from tests.support.audit import append_events
from workers import names
from workers.beat import beat_schedule
from workers.tasks.audit import audit_maintenance


def test_beat_runs_the_job_which_checkpoints_when_due_and_only_one_at_a_time(
    database_url: str, env: Env
) -> None:
    schedule = {entry["task"]: entry for entry in beat_schedule().values()}
    assert schedule[names.TASK_AUDIT_MAINTENANCE]["options"]["queue"] == names.QUEUE_MAINTENANCE
    env.set(PLINTH_AUDIT_CHECKPOINT_EVERY_EVENTS="5", PLINTH_AUDIT_CHECKPOINT_EVERY_MINUTES="60")
    append_events(3)
    assert audit_maintenance() == 3  # the first checkpoint is always due
    append_events(2)
    assert audit_maintenance() is None  # 2 new events: neither 5 events nor 60 minutes
    append_events(3)
    assert audit_maintenance() == 8
    assert default_store().names() == ["checkpoint-000000000000003.json", "checkpoint-000000000000008.json"]
    with psycopg.connect(database_url) as other:
        other.execute("SELECT pg_advisory_lock(%s)", (maintenance.MAINTENANCE_LOCK_KEY,))
        held = maintenance.run(signer=default_signer(), store=default_store(), force=True)
    assert not held.ran


def _audit_schema_only(name: str | None, type_: str, parents: object) -> bool:
    return type_ != "schema" or name == "audit"


def test_the_audit_models_match_the_migrations(database_url: str) -> None:
    assert audit.models.AuditEvent.__table__.schema == "audit"
    engine = create_engine(sqlalchemy_url(database_url))
    with engine.connect() as connection:
        context = MigrationContext.configure(
            connection,
            opts={"include_schemas": True, "include_name": _audit_schema_only, "compare_type": True},
        )
        differences = [d for d in compare_metadata(context, Base.metadata) if "'audit'" in repr(d)]
    engine.dispose()
    assert differences == []
