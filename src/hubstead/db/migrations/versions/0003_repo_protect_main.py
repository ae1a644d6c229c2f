"""repo protect_main (git push: refuse non-fast-forward pushes to main when set)

Revision ID: 0003
Revises: 0002
Create Date: 2026-11-22 00:48:16.953536
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = '0003'
down_revision = '0002'
branch_labels = None
depends_on = None


def upgrade() -> None:
    # a plain ADD COLUMN: batch mode would rebuild "repos" on SQLite and drop the search triggers of 0002
    op.add_column('repos', sa.Column('protect_main', sa.Boolean(), server_default=sa.text('false'), nullable=False))


def downgrade() -> None:
    with op.batch_alter_table('repos', schema=None) as batch_op:
        batch_op.drop_column('protect_main')
