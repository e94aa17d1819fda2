"""Knowledge: refused files with their reasons, document expiry, language-aware full text on chunks.

Revision ID: 20261202_knowledge
Revises: 20261201_console
Create Date: 2026-12-02
"""

from __future__ import annotations

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op
from sqlalchemy.dialects import postgresql

revision: str = "20261202_knowledge"
down_revision: str | None = "20261202_slack"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

_TSV = "to_tsvector(ts_config, coalesce(heading, '') || ' ' || text)"
_OLD_TSV = "to_tsvector('english', coalesce(heading, '') || ' ' || text)"


def upgrade() -> None:
    op.create_table(
        "ingest_refusals",
        sa.Column("id", sa.Uuid(), nullable=False),
        sa.Column("received_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("channel", sa.Text(), nullable=False),
        sa.Column("submitted_by", sa.Uuid(), nullable=True),
        sa.Column("original_name", sa.Text(), nullable=False),
        sa.Column("source_name", sa.Text(), nullable=True),
        sa.Column("source_key", sa.Text(), nullable=True),
        sa.Column("content_sha256", sa.Text(), nullable=True),
        sa.Column("size_bytes", sa.BigInteger(), nullable=True),
        sa.Column("reason", sa.Text(), nullable=False),
        sa.Column("message", sa.Text(), nullable=False),
        sa.ForeignKeyConstraint(
            ["submitted_by"], ["principals.id"], name=op.f("fk_ingest_refusals_submitted_by_principals")
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_ingest_refusals")),
    )
    op.create_index(op.f("ix_ingest_refusals_received_at"), "ingest_refusals", ["received_at"])
    op.add_column("documents", sa.Column("expires_at", sa.DateTime(timezone=True), nullable=True))
    op.add_column(
        "document_versions",
        sa.Column("skipped_parts", postgresql.ARRAY(sa.Text()), server_default="{}", nullable=False),
    )
    op.add_column(
        "chunks",
        sa.Column("ts_config", postgresql.REGCONFIG(), server_default="english", nullable=False),
    )
    op.drop_index("ix_chunks_tsv", table_name="chunks")
    op.drop_column("chunks", "tsv")
    op.add_column("chunks", sa.Column("tsv", postgresql.TSVECTOR(), sa.Computed(_TSV, persisted=True)))
    op.create_index("ix_chunks_tsv", "chunks", ["tsv"], postgresql_using="gin")


def downgrade() -> None:
    op.drop_index("ix_chunks_tsv", table_name="chunks")
    op.drop_column("chunks", "tsv")
    op.drop_column("chunks", "ts_config")
    op.add_column("chunks", sa.Column("tsv", postgresql.TSVECTOR(), sa.Computed(_OLD_TSV, persisted=True)))
    op.create_index("ix_chunks_tsv", "chunks", ["tsv"], postgresql_using="gin")
    op.drop_column("document_versions", "skipped_parts")
    op.drop_column("documents", "expires_at")
    op.drop_index(op.f("ix_ingest_refusals_received_at"), table_name="ingest_refusals")
    op.drop_table("ingest_refusals")
