"""The answer cache stops counting hits in its rows: every hit of a popular question updated the same
row, so concurrent hits waited for each other's commits. Hits are counted in usage records (`cached`)
and in `plinth_answer_cache_total`.

Revision ID: 20261203_answer_cache_hits
Revises: 20261202_slack_installations
Create Date: 2026-12-03
"""

from __future__ import annotations

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "20261203_answer_cache_hits"
down_revision: str | None = "20261202_slack_installations"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    op.drop_column("answer_cache", "hits")


def downgrade() -> None:
    op.add_column("answer_cache", sa.Column("hits", sa.Integer(), nullable=False, server_default="0"))
