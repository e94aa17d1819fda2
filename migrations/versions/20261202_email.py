"""Email front end: inbound mail as received and what became of it.

Revision ID: 20261202_email
Revises: 20261201_console
Create Date: 2026-12-02
"""

from __future__ import annotations

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op
from sqlalchemy.dialects import postgresql

revision: str = "20261202_email"
down_revision: str | None = "20261202_console_settings"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    op.create_table(
        "inbound_mail",
        sa.Column("id", sa.Uuid(), nullable=False),
        sa.Column("blob_key", sa.Text(), nullable=False),
        sa.Column("size", sa.BigInteger(), nullable=False),
        sa.Column("envelope_from", sa.Text(), nullable=False),
        sa.Column("envelope_to", postgresql.ARRAY(sa.Text()), nullable=False),
        sa.Column("peer", sa.Text(), nullable=True),
        sa.Column("received_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("status", sa.Text(), nullable=False),
        sa.Column("kind", sa.Text(), nullable=True),
        sa.Column("reason", sa.Text(), nullable=True),
        sa.Column("detail", sa.Text(), nullable=True),
        sa.Column("message_id", sa.Text(), nullable=True),
        sa.Column("sender", sa.Text(), nullable=True),
        sa.Column("subject", sa.Text(), nullable=True),
        sa.Column("principal_id", sa.Uuid(), nullable=True),
        sa.Column("conversation_message_id", sa.Uuid(), nullable=True),
        sa.Column("facts", postgresql.JSONB(astext_type=sa.Text()), nullable=False),
        sa.Column("processed_at", sa.DateTime(timezone=True), nullable=True),
        sa.Column("receipt_status", sa.Text(), nullable=True),
        sa.Column("receipt_message_id", sa.Text(), nullable=True),
        sa.Column("receipt_attempts", sa.Integer(), nullable=False),
        sa.ForeignKeyConstraint(
            ["principal_id"], ["principals.id"], name=op.f("fk_inbound_mail_principal_id_principals")
        ),
        sa.ForeignKeyConstraint(
            ["conversation_message_id"],
            ["messages.id"],
            name=op.f("fk_inbound_mail_conversation_message_id_messages"),
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_inbound_mail")),
    )
    op.create_index("ix_inbound_mail_message_id", "inbound_mail", ["message_id"], unique=False)
    op.create_index(
        "ix_inbound_mail_sender_received_at", "inbound_mail", ["sender", "received_at"], unique=False
    )
    op.create_index(op.f("ix_inbound_mail_received_at"), "inbound_mail", ["received_at"], unique=False)
    op.create_index(op.f("ix_inbound_mail_status"), "inbound_mail", ["status"], unique=False)


def downgrade() -> None:
    op.drop_index(op.f("ix_inbound_mail_status"), table_name="inbound_mail")
    op.drop_index(op.f("ix_inbound_mail_received_at"), table_name="inbound_mail")
    op.drop_index("ix_inbound_mail_sender_received_at", table_name="inbound_mail")
    op.drop_index("ix_inbound_mail_message_id", table_name="inbound_mail")
    op.drop_table("inbound_mail")
