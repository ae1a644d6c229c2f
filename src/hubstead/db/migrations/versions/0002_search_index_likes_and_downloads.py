"""search index, likes and downloads

Revision ID: 0002
Revises: 0001
Create Date: 2026-11-22 00:42:24.896983
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

import hubstead.db.base

revision = '0002'
down_revision = '0001'
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table('repo_download_days',
    sa.Column('repo_id', sa.Integer(), nullable=False),
    sa.Column('day', sa.Date(), nullable=False),
    sa.Column('count', sa.Integer(), nullable=False),
    sa.ForeignKeyConstraint(['repo_id'], ['repos.id'], name=op.f('fk_repo_download_days_repo_id_repos'), ondelete='CASCADE'),
    sa.PrimaryKeyConstraint('repo_id', 'day', name=op.f('pk_repo_download_days'))
    )
    with op.batch_alter_table('repo_download_days', schema=None) as batch_op:
        batch_op.create_index(batch_op.f('ix_repo_download_days_day'), ['day'], unique=False)

    op.create_table('repo_likes',
    sa.Column('user_id', sa.Integer(), nullable=False),
    sa.Column('repo_id', sa.Integer(), nullable=False),
    sa.Column('created_at', hubstead.db.base.UTCDateTime(timezone=True), nullable=False),
    sa.ForeignKeyConstraint(['repo_id'], ['repos.id'], name=op.f('fk_repo_likes_repo_id_repos'), ondelete='CASCADE'),
    sa.ForeignKeyConstraint(['user_id'], ['accounts.id'], name=op.f('fk_repo_likes_user_id_accounts'), ondelete='CASCADE'),
    sa.PrimaryKeyConstraint('user_id', 'repo_id', name=op.f('pk_repo_likes'))
    )
    with op.batch_alter_table('repo_likes', schema=None) as batch_op:
        batch_op.create_index(batch_op.f('ix_repo_likes_created_at'), ['created_at'], unique=False)
        batch_op.create_index(batch_op.f('ix_repo_likes_repo_id'), ['repo_id'], unique=False)

    op.create_table('repo_tags',
    sa.Column('repo_id', sa.Integer(), nullable=False),
    sa.Column('tag', sa.String(length=200), nullable=False),
    sa.ForeignKeyConstraint(['repo_id'], ['repos.id'], name=op.f('fk_repo_tags_repo_id_repos'), ondelete='CASCADE'),
    sa.PrimaryKeyConstraint('repo_id', 'tag', name=op.f('pk_repo_tags'))
    )
    with op.batch_alter_table('repo_tags', schema=None) as batch_op:
        batch_op.create_index('ix_repo_tags_tag_repo', ['tag', 'repo_id'], unique=False)

    with op.batch_alter_table('repos', schema=None) as batch_op:
        batch_op.add_column(sa.Column('pipeline_tag', sa.String(length=64), nullable=True))
        batch_op.add_column(sa.Column('library_name', sa.String(length=64), nullable=True))
        batch_op.add_column(sa.Column('model_type', sa.String(length=64), nullable=True))
        batch_op.add_column(sa.Column('tags', sa.JSON(), nullable=True))
        batch_op.add_column(sa.Column('file_facts', sa.JSON(), nullable=True))
        batch_op.add_column(sa.Column('downloads', sa.Integer(), nullable=False, server_default=sa.text('0')))
        batch_op.add_column(sa.Column('downloads_all_time', sa.BigInteger(), nullable=False, server_default=sa.text('0')))
        batch_op.add_column(sa.Column('likes', sa.Integer(), nullable=False, server_default=sa.text('0')))
        batch_op.add_column(sa.Column('trending_score', sa.Integer(), nullable=False, server_default=sa.text('0')))
        batch_op.create_index(batch_op.f('ix_repos_library_name'), ['library_name'], unique=False)
        batch_op.create_index(batch_op.f('ix_repos_pipeline_tag'), ['pipeline_tag'], unique=False)
        batch_op.create_index('ix_repos_type_created', ['type', 'created_at', 'id'], unique=False)
        batch_op.create_index('ix_repos_type_downloads', ['type', 'downloads', 'id'], unique=False)
        batch_op.create_index('ix_repos_type_likes', ['type', 'likes', 'id'], unique=False)
        batch_op.create_index('ix_repos_type_modified', ['type', 'last_modified', 'id'], unique=False)
        batch_op.create_index('ix_repos_type_namespace', ['type', 'namespace'], unique=False)
        batch_op.create_index('ix_repos_type_trending', ['type', 'trending_score', 'id'], unique=False)

    _create_text_search()


def _create_text_search() -> None:
    """Substring search on repo ids: an FTS5 trigram index on SQLite, pg_trgm on PostgreSQL (when the
    extension can be installed; otherwise searches fall back to a scan)."""
    bind = op.get_bind()
    if bind.dialect.name == "sqlite":
        op.execute(
            "CREATE VIRTUAL TABLE repo_search USING fts5(id_key, content='repos', content_rowid='id', "
            "tokenize='trigram')"
        )
        op.execute("INSERT INTO repo_search(rowid, id_key) SELECT id, id_key FROM repos")
        op.execute(
            "CREATE TRIGGER repo_search_ai AFTER INSERT ON repos BEGIN "
            "INSERT INTO repo_search(rowid, id_key) VALUES (new.id, new.id_key); END"
        )
        op.execute(
            "CREATE TRIGGER repo_search_ad AFTER DELETE ON repos BEGIN "
            "INSERT INTO repo_search(repo_search, rowid, id_key) VALUES ('delete', old.id, old.id_key); END"
        )
        op.execute(
            "CREATE TRIGGER repo_search_au AFTER UPDATE OF id_key ON repos BEGIN "
            "INSERT INTO repo_search(repo_search, rowid, id_key) VALUES ('delete', old.id, old.id_key); "
            "INSERT INTO repo_search(rowid, id_key) VALUES (new.id, new.id_key); END"
        )
    elif bind.dialect.name == "postgresql":
        available = bind.execute(sa.text("SELECT 1 FROM pg_available_extensions WHERE name = 'pg_trgm'")).scalar()
        if available:
            try:
                with bind.begin_nested():
                    op.execute("CREATE EXTENSION IF NOT EXISTS pg_trgm SCHEMA public")
            except sa.exc.DBAPIError:
                return  # not allowed to install extensions: searches scan instead
            schema = bind.execute(
                sa.text(
                    "SELECT n.nspname FROM pg_extension e JOIN pg_namespace n ON n.oid = e.extnamespace "
                    "WHERE e.extname = 'pg_trgm'"
                )
            ).scalar()
            op.execute(f'CREATE INDEX ix_repos_id_key_trgm ON repos USING gin (id_key "{schema}".gin_trgm_ops)')



def downgrade() -> None:
    bind = op.get_bind()
    if bind.dialect.name == "sqlite":
        for trigger in ("repo_search_ai", "repo_search_ad", "repo_search_au"):
            op.execute(f"DROP TRIGGER IF EXISTS {trigger}")
        op.execute("DROP TABLE IF EXISTS repo_search")
    elif bind.dialect.name == "postgresql":
        op.execute("DROP INDEX IF EXISTS ix_repos_id_key_trgm")
    with op.batch_alter_table('repos', schema=None) as batch_op:
        batch_op.drop_index('ix_repos_type_trending')
        batch_op.drop_index('ix_repos_type_namespace')
        batch_op.drop_index('ix_repos_type_modified')
        batch_op.drop_index('ix_repos_type_likes')
        batch_op.drop_index('ix_repos_type_downloads')
        batch_op.drop_index('ix_repos_type_created')
        batch_op.drop_index(batch_op.f('ix_repos_pipeline_tag'))
        batch_op.drop_index(batch_op.f('ix_repos_library_name'))
        batch_op.drop_column('trending_score')
        batch_op.drop_column('likes')
        batch_op.drop_column('downloads_all_time')
        batch_op.drop_column('downloads')
        batch_op.drop_column('file_facts')
        batch_op.drop_column('tags')
        batch_op.drop_column('model_type')
        batch_op.drop_column('library_name')
        batch_op.drop_column('pipeline_tag')

    with op.batch_alter_table('repo_tags', schema=None) as batch_op:
        batch_op.drop_index('ix_repo_tags_tag_repo')

    op.drop_table('repo_tags')
    with op.batch_alter_table('repo_likes', schema=None) as batch_op:
        batch_op.drop_index(batch_op.f('ix_repo_likes_repo_id'))
        batch_op.drop_index(batch_op.f('ix_repo_likes_created_at'))

    op.drop_table('repo_likes')
    with op.batch_alter_table('repo_download_days', schema=None) as batch_op:
        batch_op.drop_index(batch_op.f('ix_repo_download_days_day'))

    op.drop_table('repo_download_days')
