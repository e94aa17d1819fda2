"""Slack: channels Plinth answers in (settings, synced members).

Revision ID: 20261202_slack
Revises: 20261201_console
Create Date: 2026-12-02
"""

from __future__ import annotations

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op
from sqlalchemy.dialects import postgresql

revision: str = "20261202_slack"
down_revision: str | None = "20261202_email"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    op.create_table(
        "channels",
        sa.Column("audience", sa.Text(), nullable=False),
        sa.Column("name", sa.Text(), nullable=True),
        sa.Column("enabled", sa.Boolean(), nullable=False),
        sa.Column("scope", postgresql.ARRAY(sa.Text()), nullable=True),
        sa.Column("mentions_only", sa.Boolean(), nullable=False),
        sa.Column("allowed_users", postgresql.ARRAY(sa.Text()), nullable=False),
        sa.Column("has_external_members", sa.Boolean(), nullable=False),
        sa.Column("allow_external", sa.Boolean(), nullable=False),
        sa.Column("members_synced_at", sa.DateTime(timezone=True), nullable=True),
        sa.Column("created_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("updated_at", sa.DateTime(timezone=True), nullable=False),
        sa.PrimaryKeyConstraint("audience", name=op.f("pk_channels")),
    )
    op.create_table(
        "channel_members",
        sa.Column("audience", sa.Text(), nullable=False),
        sa.Column("principal_id", sa.Uuid(), nullable=False),
        sa.ForeignKeyConstraint(
            ["audience"],
            ["channels.audience"],
            name=op.f("fk_channel_members_audience_channels"),
            ondelete="CASCADE",
        ),
        sa.ForeignKeyConstraint(
            ["principal_id"],
            ["principals.id"],
            name=op.f("fk_channel_members_principal_id_principals"),
            ondelete="CASCADE",
        ),
        sa.PrimaryKeyConstraint("audience", "principal_id", name=op.f("pk_channel_members")),
    )
    op.create_index(
        op.f("ix_channel_members_principal_id"), "channel_members", ["principal_id"], unique=False
    )


def downgrade() -> None:
    op.drop_index(op.f("ix_channel_members_principal_id"), table_name="channel_members")
    op.drop_table("channel_members")
    op.drop_table("channels")
