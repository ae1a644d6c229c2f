"""objects: a Xet shard's sha256 is a claim for its repo alone, never a verified object

Before this revision, registering a Xet shard also recorded its (unchecked) sha256 as a verified LFS object
linked to the repo: the repo could then read whatever bytes were later uploaded whole under that sha256, and the
claimed size blocked honest uploads of the real content elsewhere. The claims stay in xet_repo_files (which is
how the repo reads those files); the links they made go, and so do object rows nothing links or converted.

Revision ID: 0012_objects
Revises: 0008
Create Date: 2026-12-04 19:30:00
"""

from __future__ import annotations

from alembic import op

revision = '0012_objects'
down_revision = '0008'
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.execute(
        "DELETE FROM repo_lfs_objects WHERE EXISTS (SELECT 1 FROM xet_repo_files x "
        "WHERE x.repo_id = repo_lfs_objects.repo_id AND x.sha256 = repo_lfs_objects.oid)"
    )
    op.execute(
        "DELETE FROM lfs_objects WHERE oid NOT IN (SELECT oid FROM repo_lfs_objects) "
        "AND oid NOT IN (SELECT sha256 FROM xet_lfs_conversions)"
    )


def downgrade() -> None:
    pass  # the removed links were claims, not facts: nothing to restore
