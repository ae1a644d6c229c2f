"""jobs: background work queued with the transaction that caused it, claimed by workers

Revision ID: 0011
Revises: 0010
Create Date: 2026-11-24 10:00:00
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

import hubstead.db.base

revision = "0011"
down_revision = "0010"
branch_labels = None
depends_on = None

PENDING_SQL = "state IN ('queued', 'running')"


def upgrade() -> None:
    op.create_table(
        "jobs",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("kind", sa.String(length=64), nullable=False),
        sa.Column("payload", sa.JSON(), nullable=False),
        sa.Column(
            "state",
            sa.Enum(
                "queued", "running", "succeeded", "failed", "cancelled", name="jobstate", native_enum=False, length=16
            ),
            nullable=False,
        ),
        sa.Column("priority", sa.Integer(), nullable=False),
        sa.Column("attempts", sa.Integer(), nullable=False),
        sa.Column("max_attempts", sa.Integer(), nullable=False),
        sa.Column("run_after", hubstead.db.base.UTCDateTime(timezone=True), nullable=False),
        sa.Column("progress", sa.Float(), nullable=False),
        sa.Column("progress_message", sa.String(length=200), nullable=False),
        sa.Column("log", sa.Text(), nullable=False),
        sa.Column("error", sa.Text(), nullable=True),
        sa.Column("worker_id", sa.String(length=200), nullable=True),
        sa.Column("lease_expires_at", hubstead.db.base.UTCDateTime(timezone=True), nullable=True),
        sa.Column("heartbeat_at", hubstead.db.base.UTCDateTime(timezone=True), nullable=True),
        sa.Column("cancel_requested", sa.Boolean(), nullable=False),
        sa.Column("dedup_key", sa.String(length=255), nullable=True),
        sa.Column("repo_id", sa.Integer(), nullable=True),
        sa.Column("account_id", sa.Integer(), nullable=True),
        sa.Column("created_at", hubstead.db.base.UTCDateTime(timezone=True), nullable=False),
        sa.Column("started_at", hubstead.db.base.UTCDateTime(timezone=True), nullable=True),
        sa.Column("finished_at", hubstead.db.base.UTCDateTime(timezone=True), nullable=True),
        sa.ForeignKeyConstraint(
            ["account_id"], ["accounts.id"], name=op.f("fk_jobs_account_id_accounts"), ondelete="SET NULL"
        ),
        sa.ForeignKeyConstraint(["repo_id"], ["repos.id"], name=op.f("fk_jobs_repo_id_repos"), ondelete="SET NULL"),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_jobs")),
    )
    op.create_index("ix_jobs_state_run_after", "jobs", ["state", "run_after"], unique=False)
    op.create_index("ix_jobs_kind_id", "jobs", ["kind", "id"], unique=False)
    op.create_index("ix_jobs_repo_id_id", "jobs", ["repo_id", "id"], unique=False)
    op.create_index(op.f("ix_jobs_account_id"), "jobs", ["account_id"], unique=False)
    op.create_index(op.f("ix_jobs_finished_at"), "jobs", ["finished_at"], unique=False)
    op.create_index(
        "uq_jobs_pending_dedup_key",
        "jobs",
        ["dedup_key"],
        unique=True,
        sqlite_where=sa.text(PENDING_SQL),
        postgresql_where=sa.text(PENDING_SQL),
    )


def downgrade() -> None:
    op.drop_index("uq_jobs_pending_dedup_key", table_name="jobs")
    op.drop_index(op.f("ix_jobs_finished_at"), table_name="jobs")
    op.drop_index(op.f("ix_jobs_account_id"), table_name="jobs")
    op.drop_index("ix_jobs_repo_id_id", table_name="jobs")
    op.drop_index("ix_jobs_kind_id", table_name="jobs")
    op.drop_index("ix_jobs_state_run_after", table_name="jobs")
    op.drop_table("jobs")
