"""Runtime settings store: every version of every section changed from the console.

Revision ID: 20261202_console_settings
Revises: 20261201_console
Create Date: 2026-12-02
"""

from __future__ import annotations

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op
from sqlalchemy.dialects import postgresql

revision: str = "20261202_console_settings"
down_revision: str | None = "20261202_jobs"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    op.create_table(
        "runtime_config_versions",
        sa.Column("id", sa.Uuid(), nullable=False),
        sa.Column("section", sa.Text(), nullable=False),
        sa.Column("version", sa.Integer(), nullable=False),
        sa.Column("value", postgresql.JSONB(astext_type=sa.Text()), nullable=False),
        sa.Column("changed_by", sa.Text(), nullable=False),
        sa.Column("changed_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("reason", sa.Text(), nullable=True),
        sa.Column("rollback_of", sa.Integer(), nullable=True),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_runtime_config_versions")),
        sa.UniqueConstraint("section", "version", name=op.f("uq_runtime_config_versions_section")),
    )
    op.create_index(
        op.f("ix_runtime_config_versions_section"), "runtime_config_versions", ["section"], unique=False
    )


def downgrade() -> None:
    op.drop_index(op.f("ix_runtime_config_versions_section"), table_name="runtime_config_versions")
    op.drop_table("runtime_config_versions")
