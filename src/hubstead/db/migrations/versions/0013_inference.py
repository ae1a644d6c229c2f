"""inference: calls of the inference API per model

Revision ID: 0013
Revises: 0012
Create Date: 2026-12-04 22:00:00
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

import hubstead.db.base

revision = "0013"
down_revision = "0012"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table(
        "repo_inference_calls",
        sa.Column("repo_id", sa.Integer(), nullable=False),
        sa.Column("calls", sa.BigInteger(), nullable=False),
        sa.Column("last_called_at", hubstead.db.base.UTCDateTime(timezone=True), nullable=True),
        sa.ForeignKeyConstraint(["repo_id"], ["repos.id"], name=op.f("fk_repo_inference_calls_repo_id_repos"), ondelete="CASCADE"),
        sa.PrimaryKeyConstraint("repo_id", name=op.f("pk_repo_inference_calls")),
    )


def downgrade() -> None:
    op.drop_table("repo_inference_calls")
