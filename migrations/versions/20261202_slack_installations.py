"""Slack multi-workspace OAuth: installations (tokens encrypted at rest) and single-use install states.

Revision ID: 20261202_slack_installations
Revises: 20261202_inference
Create Date: 2026-12-02
"""

from __future__ import annotations

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op
from sqlalchemy.dialects import postgresql

revision: str = "20261202_slack_installations"
down_revision: str | None = "20261202_inference"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    op.create_table(
        "slack_installations",
        sa.Column("id", sa.Uuid(), nullable=False),
        sa.Column("client_id", sa.Text(), nullable=False),
        sa.Column("app_id", sa.Text(), nullable=True),
        sa.Column("enterprise_id", sa.Text(), nullable=False),
        sa.Column("enterprise_name", sa.Text(), nullable=True),
        sa.Column("enterprise_url", sa.Text(), nullable=True),
        sa.Column("team_id", sa.Text(), nullable=False),
        sa.Column("team_name", sa.Text(), nullable=True),
        sa.Column("is_enterprise_install", sa.Boolean(), nullable=False),
        sa.Column("token_type", sa.Text(), nullable=True),
        sa.Column("bot_token_encrypted", sa.Text(), nullable=True),
        sa.Column("bot_refresh_token_encrypted", sa.Text(), nullable=True),
        sa.Column("bot_token_expires_at", sa.DateTime(timezone=True), nullable=True),
        sa.Column("bot_id", sa.Text(), nullable=True),
        sa.Column("bot_user_id", sa.Text(), nullable=True),
        sa.Column("bot_scopes", postgresql.ARRAY(sa.Text()), nullable=False),
        sa.Column("user_id", sa.Text(), nullable=False),
        sa.Column("user_token_encrypted", sa.Text(), nullable=True),
        sa.Column("user_refresh_token_encrypted", sa.Text(), nullable=True),
        sa.Column("user_token_expires_at", sa.DateTime(timezone=True), nullable=True),
        sa.Column("user_scopes", postgresql.ARRAY(sa.Text()), nullable=False),
        sa.Column("incoming_webhook_url_encrypted", sa.Text(), nullable=True),
        sa.Column("incoming_webhook_channel", sa.Text(), nullable=True),
        sa.Column("incoming_webhook_channel_id", sa.Text(), nullable=True),
        sa.Column("incoming_webhook_configuration_url", sa.Text(), nullable=True),
        sa.Column("installed_at", sa.DateTime(timezone=True), nullable=False),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_slack_installations")),
        sa.UniqueConstraint(
            "client_id", "enterprise_id", "team_id", "user_id", name=op.f("uq_slack_installations_client_id")
        ),
    )
    op.create_index(op.f("ix_slack_installations_installed_at"), "slack_installations", ["installed_at"])
    op.create_table(
        "slack_oauth_states",
        sa.Column("state", sa.Text(), nullable=False),
        sa.Column("expires_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("created_at", sa.DateTime(timezone=True), nullable=False),
        sa.PrimaryKeyConstraint("state", name=op.f("pk_slack_oauth_states")),
    )
    op.create_index(op.f("ix_slack_oauth_states_expires_at"), "slack_oauth_states", ["expires_at"])


def downgrade() -> None:
    op.drop_index(op.f("ix_slack_oauth_states_expires_at"), table_name="slack_oauth_states")
    op.drop_table("slack_oauth_states")
    op.drop_index(op.f("ix_slack_installations_installed_at"), table_name="slack_installations")
    op.drop_table("slack_installations")
