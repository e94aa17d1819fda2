"""The corpus version counter that answer caches key on.

Revision ID: 20261201_corpus_version
Revises: 20261201_audit_store
Create Date: 2026-12-01
"""

from __future__ import annotations

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "20261201_corpus_version"
down_revision: str | None = "20261201_audit_store"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    op.create_table(
        "corpus_state",
        sa.Column("id", sa.SmallInteger(), autoincrement=False, nullable=False),
        sa.Column("version", sa.BigInteger(), nullable=False),
        sa.Column("changed_at", sa.DateTime(timezone=True), nullable=False),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_corpus_state")),
    )
    op.execute("INSERT INTO corpus_state (id, version, changed_at) VALUES (1, 0, now())")


def downgrade() -> None:
    op.drop_table("corpus_state")
