"""repo uid, and ids never reused: every repo gets an immutable random uid; SQLite tables whose ids are named
outside the database (repos, accounts, tokens, web sessions, jobs) are rebuilt with AUTOINCREMENT

Revision ID: 0012
Revises: 0011
Create Date: 2026-12-04 22:00:00
"""

from __future__ import annotations

import uuid

import sqlalchemy as sa
from alembic import op

revision = "0012"
down_revision = "0011"
branch_labels = None
depends_on = None

# SQLite hands the largest id of a table to the next row once that row is deleted, unless the table has
# AUTOINCREMENT; PostgreSQL sequences never go back
NEVER_REUSED = ("repos", "accounts", "tokens", "web_sessions", "jobs")
PENDING_SQL = "state IN ('queued', 'running')"


def upgrade() -> None:
    op.add_column("repos", sa.Column("uid", sa.String(length=32), nullable=True))
    bind = op.get_bind()
    uids = [{"id": pk, "uid": uuid.uuid4().hex} for pk in bind.scalars(sa.text("SELECT id FROM repos"))]
    if uids:
        bind.execute(sa.text("UPDATE repos SET uid = :uid WHERE id = :id"), uids)
    if bind.dialect.name == "sqlite":
        _rebuild_sqlite(autoincrement=True)
    else:
        op.alter_column("repos", "uid", existing_type=sa.String(length=32), nullable=False)
        op.create_unique_constraint(op.f("uq_repos_uid"), "repos", ["uid"])


def downgrade() -> None:
    if op.get_bind().dialect.name == "sqlite":
        _rebuild_sqlite(autoincrement=False)
    else:
        op.drop_constraint(op.f("uq_repos_uid"), "repos", type_="unique")
        op.drop_column("repos", "uid")


def _rebuild_sqlite(*, autoincrement: bool) -> None:
    """SQLite cannot add AUTOINCREMENT to a table: each is copied into a new one (env.py turns foreign keys off
    while migrating, so that dropping the old table cascades nowhere). A rebuild drops the table's triggers (the
    search indexes of 0002 and 0004 on repos): they are read first and made again. The partial index on jobs is
    made again by hand, as reflection may lose its WHERE clause."""
    bind = op.get_bind()
    triggers = bind.scalars(
        sa.text("SELECT sql FROM sqlite_master WHERE type = 'trigger' AND tbl_name IN :tables").bindparams(
            sa.bindparam("tables", expanding=True)
        ),
        {"tables": list(NEVER_REUSED)},
    ).all()
    op.drop_index("uq_jobs_pending_dedup_key", table_name="jobs")
    for table in NEVER_REUSED:
        with op.batch_alter_table(
            table, recreate="always", table_kwargs={"sqlite_autoincrement": autoincrement}
        ) as batch_op:
            if table != "repos":
                continue
            if autoincrement:
                batch_op.alter_column("uid", existing_type=sa.String(length=32), nullable=False)
                batch_op.create_unique_constraint(batch_op.f("uq_repos_uid"), ["uid"])
            else:
                batch_op.drop_constraint(batch_op.f("uq_repos_uid"), type_="unique")
                batch_op.drop_column("uid")
    op.create_index(
        "uq_jobs_pending_dedup_key", "jobs", ["dedup_key"], unique=True, sqlite_where=sa.text(PENDING_SQL)
    )
    for sql in triggers:
        op.execute(sql)
