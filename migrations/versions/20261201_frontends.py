"""Front-end plumbing: deliveries, feedback per person, escalations, corrections, reply context on messages.

Revision ID: 20261201_frontends
Revises: 20261201_corpus_version
Create Date: 2026-12-01
"""

from __future__ import annotations

from collections.abc import Sequence

import pgvector.sqlalchemy
import sqlalchemy as sa
from alembic import op
from sqlalchemy.dialects import postgresql

revision: str = "20261201_frontends"
down_revision: str | None = "20261201_corpus_version"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    op.create_table(
        "corrections",
        sa.Column("id", sa.Uuid(), nullable=False),
        sa.Column("message_id", sa.Uuid(), nullable=False),
        sa.Column("answer_id", sa.Uuid(), nullable=True),
        sa.Column("question", sa.Text(), nullable=False),
        sa.Column("normalized_question", sa.Text(), nullable=False),
        sa.Column("question_embedding", pgvector.sqlalchemy.vector.VECTOR(dim=384), nullable=True),
        sa.Column("original_answer", sa.Text(), nullable=True),
        sa.Column("proposed_text", sa.Text(), nullable=False),
        sa.Column("final_text", sa.Text(), nullable=True),
        sa.Column("status", sa.Text(), nullable=False),
        sa.Column("required_access", postgresql.JSONB(astext_type=sa.Text()), nullable=False),
        sa.Column("cited_chunk_ids", postgresql.JSONB(astext_type=sa.Text()), nullable=False),
        sa.Column("channel", sa.Text(), nullable=False),
        sa.Column("submitted_by", sa.Uuid(), nullable=False),
        sa.Column("reviewed_by", sa.Uuid(), nullable=True),
        sa.Column("review_note", sa.Text(), nullable=True),
        sa.Column("created_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("reviewed_at", sa.DateTime(timezone=True), nullable=True),
        sa.ForeignKeyConstraint(
            ["answer_id"], ["answers.id"], name=op.f("fk_corrections_answer_id_answers"), ondelete="SET NULL"
        ),
        sa.ForeignKeyConstraint(
            ["message_id"], ["messages.id"], name=op.f("fk_corrections_message_id_messages")
        ),
        sa.ForeignKeyConstraint(
            ["reviewed_by"], ["principals.id"], name=op.f("fk_corrections_reviewed_by_principals")
        ),
        sa.ForeignKeyConstraint(
            ["submitted_by"], ["principals.id"], name=op.f("fk_corrections_submitted_by_principals")
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_corrections")),
    )
    op.create_index(op.f("ix_corrections_message_id"), "corrections", ["message_id"], unique=False)
    op.create_index(
        op.f("ix_corrections_normalized_question"), "corrections", ["normalized_question"], unique=False
    )
    op.create_index(op.f("ix_corrections_status"), "corrections", ["status"], unique=False)
    op.create_table(
        "deliveries",
        sa.Column("id", sa.Uuid(), nullable=False),
        sa.Column("answer_id", sa.Uuid(), nullable=False),
        sa.Column("message_id", sa.Uuid(), nullable=False),
        sa.Column("channel", sa.Text(), nullable=False),
        sa.Column("purpose", sa.Text(), nullable=False),
        sa.Column("status", sa.Text(), nullable=False),
        sa.Column("attempts", sa.Integer(), nullable=False),
        sa.Column("external_ref", sa.Text(), nullable=True),
        sa.Column("last_error", sa.Text(), nullable=True),
        sa.Column("created_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("updated_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("delivered_at", sa.DateTime(timezone=True), nullable=True),
        sa.ForeignKeyConstraint(
            ["answer_id"], ["answers.id"], name=op.f("fk_deliveries_answer_id_answers"), ondelete="CASCADE"
        ),
        sa.ForeignKeyConstraint(
            ["message_id"], ["messages.id"], name=op.f("fk_deliveries_message_id_messages")
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_deliveries")),
        sa.UniqueConstraint("answer_id", "purpose", name=op.f("uq_deliveries_answer_id")),
    )
    op.create_index(op.f("ix_deliveries_message_id"), "deliveries", ["message_id"], unique=False)
    op.create_table(
        "escalations",
        sa.Column("id", sa.Uuid(), nullable=False),
        sa.Column("message_id", sa.Uuid(), nullable=False),
        sa.Column("answer_id", sa.Uuid(), nullable=True),
        sa.Column("requested_by", sa.Uuid(), nullable=False),
        sa.Column("channel", sa.Text(), nullable=False),
        sa.Column("reason", sa.Text(), nullable=True),
        sa.Column("status", sa.Text(), nullable=False),
        sa.Column("external_ref", sa.Text(), nullable=True),
        sa.Column("created_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("resolved_at", sa.DateTime(timezone=True), nullable=True),
        sa.Column("resolved_by", sa.Uuid(), nullable=True),
        sa.ForeignKeyConstraint(
            ["answer_id"], ["answers.id"], name=op.f("fk_escalations_answer_id_answers"), ondelete="SET NULL"
        ),
        sa.ForeignKeyConstraint(
            ["message_id"], ["messages.id"], name=op.f("fk_escalations_message_id_messages")
        ),
        sa.ForeignKeyConstraint(
            ["requested_by"], ["principals.id"], name=op.f("fk_escalations_requested_by_principals")
        ),
        sa.ForeignKeyConstraint(
            ["resolved_by"], ["principals.id"], name=op.f("fk_escalations_resolved_by_principals")
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_escalations")),
    )
    op.create_index(op.f("ix_escalations_created_at"), "escalations", ["created_at"], unique=False)
    op.create_index(op.f("ix_escalations_message_id"), "escalations", ["message_id"], unique=False)
    op.add_column("feedback", sa.Column("channel", sa.Text(), nullable=True))
    op.add_column(
        "feedback",
        sa.Column("updated_at", sa.DateTime(timezone=True), nullable=False, server_default=sa.text("now()")),
    )
    op.alter_column("feedback", "updated_at", server_default=None)
    op.create_unique_constraint(op.f("uq_feedback_answer_id"), "feedback", ["answer_id", "principal_id"])
    op.add_column("messages", sa.Column("reply_to", postgresql.JSONB(astext_type=sa.Text()), nullable=True))
    op.add_column("messages", sa.Column("audience", sa.Text(), nullable=True))
    op.add_column(
        "messages", sa.Column("query_embedding", pgvector.sqlalchemy.vector.VECTOR(dim=384), nullable=True)
    )


def downgrade() -> None:
    op.drop_column("messages", "query_embedding")
    op.drop_column("messages", "audience")
    op.drop_column("messages", "reply_to")
    op.drop_constraint(op.f("uq_feedback_answer_id"), "feedback", type_="unique")
    op.drop_column("feedback", "updated_at")
    op.drop_column("feedback", "channel")
    op.drop_index(op.f("ix_escalations_message_id"), table_name="escalations")
    op.drop_index(op.f("ix_escalations_created_at"), table_name="escalations")
    op.drop_table("escalations")
    op.drop_index(op.f("ix_deliveries_message_id"), table_name="deliveries")
    op.drop_table("deliveries")
    op.drop_index(op.f("ix_corrections_status"), table_name="corrections")
    op.drop_index(op.f("ix_corrections_normalized_question"), table_name="corrections")
    op.drop_index(op.f("ix_corrections_message_id"), table_name="corrections")
    op.drop_table("corrections")
