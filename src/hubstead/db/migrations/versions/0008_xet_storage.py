"""xet storage: xorbs, files as chunk ranges, which repo may reference which file, global-dedup chunks

Revision ID: 0008
Revises: 0007
Create Date: 2026-11-22 04:00:00
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

import hubstead.db.base

revision = "0008"
down_revision = "0007"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table(
        "xet_xorbs",
        sa.Column("hash", sa.String(length=64), nullable=False),
        sa.Column("storage_key", sa.String(length=200), nullable=False),
        sa.Column("size", sa.BigInteger(), nullable=False),
        sa.Column("unpacked_size", sa.BigInteger(), nullable=False),
        sa.Column("num_chunks", sa.Integer(), nullable=False),
        sa.Column("chunks", sa.LargeBinary(), nullable=False),
        sa.Column("created_at", hubstead.db.base.UTCDateTime(timezone=True), nullable=False),
        sa.Column("used_at", hubstead.db.base.UTCDateTime(timezone=True), nullable=False),
        sa.PrimaryKeyConstraint("hash", name=op.f("pk_xet_xorbs")),
    )
    op.create_index(op.f("ix_xet_xorbs_used_at"), "xet_xorbs", ["used_at"], unique=False)
    op.create_table(
        "xet_files",
        sa.Column("hash", sa.String(length=64), nullable=False),
        sa.Column("size", sa.BigInteger(), nullable=False),
        sa.Column("terms", sa.LargeBinary(), nullable=False),
        sa.Column("created_at", hubstead.db.base.UTCDateTime(timezone=True), nullable=False),
        sa.PrimaryKeyConstraint("hash", name=op.f("pk_xet_files")),
    )
    op.create_index(op.f("ix_xet_files_created_at"), "xet_files", ["created_at"], unique=False)
    op.create_table(
        "xet_file_xorbs",
        sa.Column("file_hash", sa.String(length=64), nullable=False),
        sa.Column("xorb_hash", sa.String(length=64), nullable=False),
        sa.ForeignKeyConstraint(
            ["file_hash"], ["xet_files.hash"], name=op.f("fk_xet_file_xorbs_file_hash_xet_files"), ondelete="CASCADE"
        ),
        sa.ForeignKeyConstraint(["xorb_hash"], ["xet_xorbs.hash"], name=op.f("fk_xet_file_xorbs_xorb_hash_xet_xorbs")),
        sa.PrimaryKeyConstraint("file_hash", "xorb_hash", name=op.f("pk_xet_file_xorbs")),
    )
    op.create_index(op.f("ix_xet_file_xorbs_xorb_hash"), "xet_file_xorbs", ["xorb_hash"], unique=False)
    op.create_table(
        "xet_repo_files",
        sa.Column("repo_id", sa.Integer(), nullable=False),
        sa.Column("sha256", sa.String(length=64), nullable=False),
        sa.Column("file_hash", sa.String(length=64), nullable=False),
        sa.Column("size", sa.BigInteger(), nullable=False),
        sa.Column("created_at", hubstead.db.base.UTCDateTime(timezone=True), nullable=False),
        sa.ForeignKeyConstraint(
            ["repo_id"], ["repos.id"], name=op.f("fk_xet_repo_files_repo_id_repos"), ondelete="CASCADE"
        ),
        sa.ForeignKeyConstraint(["file_hash"], ["xet_files.hash"], name=op.f("fk_xet_repo_files_file_hash_xet_files")),
        sa.PrimaryKeyConstraint("repo_id", "sha256", name=op.f("pk_xet_repo_files")),
    )
    op.create_index(op.f("ix_xet_repo_files_file_hash"), "xet_repo_files", ["file_hash"], unique=False)
    op.create_table(
        "xet_lfs_conversions",
        sa.Column("sha256", sa.String(length=64), nullable=False),
        sa.Column("file_hash", sa.String(length=64), nullable=False),
        sa.Column("created_at", hubstead.db.base.UTCDateTime(timezone=True), nullable=False),
        sa.ForeignKeyConstraint(
            ["sha256"], ["lfs_objects.oid"], name=op.f("fk_xet_lfs_conversions_sha256_lfs_objects"), ondelete="CASCADE"
        ),
        sa.ForeignKeyConstraint(
            ["file_hash"], ["xet_files.hash"], name=op.f("fk_xet_lfs_conversions_file_hash_xet_files")
        ),
        sa.PrimaryKeyConstraint("sha256", name=op.f("pk_xet_lfs_conversions")),
    )
    op.create_index(op.f("ix_xet_lfs_conversions_file_hash"), "xet_lfs_conversions", ["file_hash"], unique=False)
    op.create_table(
        "xet_dedup_chunks",
        sa.Column("chunk_hash", sa.String(length=64), nullable=False),
        sa.Column("xorb_hash", sa.String(length=64), nullable=False),
        sa.ForeignKeyConstraint(
            ["xorb_hash"], ["xet_xorbs.hash"], name=op.f("fk_xet_dedup_chunks_xorb_hash_xet_xorbs"), ondelete="CASCADE"
        ),
        sa.PrimaryKeyConstraint("chunk_hash", name=op.f("pk_xet_dedup_chunks")),
    )
    op.create_index(op.f("ix_xet_dedup_chunks_xorb_hash"), "xet_dedup_chunks", ["xorb_hash"], unique=False)


def downgrade() -> None:
    for table in (
        "xet_dedup_chunks",
        "xet_lfs_conversions",
        "xet_repo_files",
        "xet_file_xorbs",
        "xet_files",
        "xet_xorbs",
    ):
        op.drop_table(table)
