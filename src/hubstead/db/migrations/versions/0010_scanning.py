"""scanning: results of scans keyed by content, and the revisions asked to be scanned

Revision ID: 0010
Revises: 0009
Create Date: 2026-11-23 10:00:00
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

import hubstead.db.base

revision = "0010"
down_revision = "0009"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table(
        "scan_results",
        sa.Column(
            "kind",
            sa.Enum("git", "lfs", "xet", name="contentkind", native_enum=False, length=8),
            nullable=False,
        ),
        sa.Column("digest", sa.String(length=64), nullable=False),
        sa.Column(
            "format",
            sa.Enum("pickle", "safetensors", name="scanformat", native_enum=False, length=16),
            nullable=False,
        ),
        sa.Column("size", sa.BigInteger(), nullable=False),
        sa.Column(
            "verdict",
            sa.Enum("safe", "suspicious", "unsafe", "error", "unscanned", name="verdict", native_enum=False, length=16),
            nullable=False,
        ),
        sa.Column("scanner", sa.String(length=32), nullable=False),
        sa.Column("scanner_version", sa.String(length=32), nullable=False),
        sa.Column("imports", sa.JSON(), nullable=True),
        sa.Column("message", sa.String(length=500), nullable=True),
        sa.Column("too_large", sa.Boolean(), nullable=False),
        sa.Column("scanned_at", hubstead.db.base.UTCDateTime(timezone=True), nullable=False),
        sa.PrimaryKeyConstraint("kind", "digest", "format", name=op.f("pk_scan_results")),
    )
    op.create_index(op.f("ix_scan_results_verdict"), "scan_results", ["verdict"], unique=False)
    op.create_table(
        "scan_requests",
        sa.Column("repo_id", sa.Integer(), nullable=False),
        sa.Column("commit_sha", sa.String(length=40), nullable=False),
        sa.Column("requested_at", hubstead.db.base.UTCDateTime(timezone=True), nullable=False),
        sa.Column("finished_at", hubstead.db.base.UTCDateTime(timezone=True), nullable=True),
        sa.Column("attempts", sa.Integer(), nullable=False),
        sa.ForeignKeyConstraint(
            ["repo_id"], ["repos.id"], name=op.f("fk_scan_requests_repo_id_repos"), ondelete="CASCADE"
        ),
        sa.PrimaryKeyConstraint("repo_id", "commit_sha", name=op.f("pk_scan_requests")),
    )
    op.create_index(op.f("ix_scan_requests_finished_at"), "scan_requests", ["finished_at"], unique=False)


def downgrade() -> None:
    op.drop_index(op.f("ix_scan_requests_finished_at"), table_name="scan_requests")
    op.drop_table("scan_requests")
    op.drop_index(op.f("ix_scan_results_verdict"), table_name="scan_results")
    op.drop_table("scan_results")
