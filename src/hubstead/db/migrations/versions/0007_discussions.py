"""discussions and pull requests, and their timelines

Revision ID: 0007
Revises: 0006
Create Date: 2026-11-23 10:00:00
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

import hubstead.db.base

revision = "0007"
down_revision = "0006"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table(
        "discussions",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("repo_id", sa.Integer(), nullable=False),
        sa.Column("num", sa.Integer(), nullable=False),
        sa.Column("title", sa.String(length=200), nullable=False),
        sa.Column("author_id", sa.Integer(), nullable=True),
        sa.Column(
            "status",
            sa.Enum("open", "closed", "merged", "draft", name="discussionstatus", native_enum=False, length=16),
            nullable=False,
        ),
        sa.Column("is_pull_request", sa.Boolean(), nullable=False),
        sa.Column("target_branch", sa.String(length=255), nullable=True),
        sa.Column("merge_commit_oid", sa.String(length=40), nullable=True),
        sa.Column("created_at", hubstead.db.base.UTCDateTime(timezone=True), nullable=False),
        sa.Column("updated_at", hubstead.db.base.UTCDateTime(timezone=True), nullable=False),
        sa.ForeignKeyConstraint(
            ["author_id"], ["accounts.id"], name=op.f("fk_discussions_author_id_accounts"), ondelete="SET NULL"
        ),
        sa.ForeignKeyConstraint(
            ["repo_id"], ["repos.id"], name=op.f("fk_discussions_repo_id_repos"), ondelete="CASCADE"
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_discussions")),
        sa.UniqueConstraint("repo_id", "num", name=op.f("uq_discussions_repo_id")),
    )
    op.create_index(op.f("ix_discussions_author_id"), "discussions", ["author_id"], unique=False)
    op.create_index("ix_discussions_repo_status", "discussions", ["repo_id", "status", "num"], unique=False)
    op.create_table(
        "discussion_events",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("discussion_id", sa.Integer(), nullable=False),
        sa.Column(
            "type",
            sa.Enum(
                "comment", "status-change", "title-change", "commit", name="eventtype", native_enum=False, length=16
            ),
            nullable=False,
        ),
        sa.Column("author_id", sa.Integer(), nullable=True),
        sa.Column("hidden", sa.Boolean(), nullable=False),
        sa.Column("data", sa.JSON(), nullable=False),
        sa.Column("created_at", hubstead.db.base.UTCDateTime(timezone=True), nullable=False),
        sa.ForeignKeyConstraint(
            ["author_id"], ["accounts.id"], name=op.f("fk_discussion_events_author_id_accounts"), ondelete="SET NULL"
        ),
        sa.ForeignKeyConstraint(
            ["discussion_id"],
            ["discussions.id"],
            name=op.f("fk_discussion_events_discussion_id_discussions"),
            ondelete="CASCADE",
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_discussion_events")),
    )
    op.create_index(op.f("ix_discussion_events_author_id"), "discussion_events", ["author_id"], unique=False)
    op.create_index("ix_discussion_events_discussion", "discussion_events", ["discussion_id", "id"], unique=False)


def downgrade() -> None:
    op.drop_index("ix_discussion_events_discussion", table_name="discussion_events")
    op.drop_index(op.f("ix_discussion_events_author_id"), table_name="discussion_events")
    op.drop_table("discussion_events")
    op.drop_index("ix_discussions_repo_status", table_name="discussions")
    op.drop_index(op.f("ix_discussions_author_id"), table_name="discussions")
    op.drop_table("discussions")
