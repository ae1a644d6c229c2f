"""initial schema

Revision ID: 0001
Revises: 
Create Date: 2026-11-22 00:34:41.502198
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

import hubstead.db.base

revision = '0001'
down_revision = None
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table('accounts',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('name', sa.String(length=96), nullable=False),
    sa.Column('name_key', sa.String(length=96), nullable=False),
    sa.Column('type', sa.Enum('user', 'org', name='accounttype', native_enum=False, length=8), nullable=False),
    sa.Column('fullname', sa.String(length=200), nullable=False),
    sa.Column('email', sa.String(length=320), nullable=True),
    sa.Column('password_hash', sa.String(length=200), nullable=True),
    sa.Column('is_admin', sa.Boolean(), nullable=False),
    sa.Column('disabled', sa.Boolean(), nullable=False),
    sa.Column('created_at', hubstead.db.base.UTCDateTime(timezone=True), nullable=False),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_accounts')),
    sa.UniqueConstraint('name_key', name=op.f('uq_accounts_name_key'))
    )
    with op.batch_alter_table('accounts', schema=None) as batch_op:
        batch_op.create_index(batch_op.f('ix_accounts_name'), ['name'], unique=True)

    op.create_table('lfs_objects',
    sa.Column('oid', sa.String(length=64), nullable=False),
    sa.Column('size', sa.BigInteger(), nullable=False),
    sa.Column('created_at', hubstead.db.base.UTCDateTime(timezone=True), nullable=False),
    sa.PrimaryKeyConstraint('oid', name=op.f('pk_lfs_objects'))
    )
    op.create_table('memberships',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('org_id', sa.Integer(), nullable=False),
    sa.Column('user_id', sa.Integer(), nullable=False),
    sa.Column('role', sa.Enum('read', 'contributor', 'write', 'admin', name='orgrole', native_enum=False, length=16), nullable=False),
    sa.ForeignKeyConstraint(['org_id'], ['accounts.id'], name=op.f('fk_memberships_org_id_accounts'), ondelete='CASCADE'),
    sa.ForeignKeyConstraint(['user_id'], ['accounts.id'], name=op.f('fk_memberships_user_id_accounts'), ondelete='CASCADE'),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_memberships')),
    sa.UniqueConstraint('org_id', 'user_id', name=op.f('uq_memberships_org_id'))
    )
    with op.batch_alter_table('memberships', schema=None) as batch_op:
        batch_op.create_index(batch_op.f('ix_memberships_org_id'), ['org_id'], unique=False)
        batch_op.create_index(batch_op.f('ix_memberships_user_id'), ['user_id'], unique=False)

    op.create_table('repos',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('type', sa.Enum('model', 'dataset', 'space', name='repotype', native_enum=False, length=8), nullable=False),
    sa.Column('namespace', sa.String(length=96), nullable=False),
    sa.Column('name', sa.String(length=96), nullable=False),
    sa.Column('id_key', sa.String(length=200), nullable=False),
    sa.Column('owner_id', sa.Integer(), nullable=False),
    sa.Column('private', sa.Boolean(), nullable=False),
    sa.Column('gated', sa.String(length=16), nullable=True),
    sa.Column('sdk', sa.String(length=32), nullable=True),
    sa.Column('head_sha', sa.String(length=40), nullable=True),
    sa.Column('card_data', sa.JSON(), nullable=True),
    sa.Column('created_at', hubstead.db.base.UTCDateTime(timezone=True), nullable=False),
    sa.Column('last_modified', hubstead.db.base.UTCDateTime(timezone=True), nullable=False),
    sa.ForeignKeyConstraint(['owner_id'], ['accounts.id'], name=op.f('fk_repos_owner_id_accounts'), ondelete='CASCADE'),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_repos')),
    sa.UniqueConstraint('type', 'id_key', name=op.f('uq_repos_type'))
    )
    with op.batch_alter_table('repos', schema=None) as batch_op:
        batch_op.create_index(batch_op.f('ix_repos_last_modified'), ['last_modified'], unique=False)
        batch_op.create_index(batch_op.f('ix_repos_namespace'), ['namespace'], unique=False)
        batch_op.create_index(batch_op.f('ix_repos_owner_id'), ['owner_id'], unique=False)
        batch_op.create_index(batch_op.f('ix_repos_type'), ['type'], unique=False)

    op.create_table('tokens',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('user_id', sa.Integer(), nullable=False),
    sa.Column('name', sa.String(length=100), nullable=False),
    sa.Column('role', sa.Enum('read', 'write', name='tokenrole', native_enum=False, length=16), nullable=False),
    sa.Column('token_hash', sa.String(length=64), nullable=False),
    sa.Column('created_at', hubstead.db.base.UTCDateTime(timezone=True), nullable=False),
    sa.Column('last_used_at', hubstead.db.base.UTCDateTime(timezone=True), nullable=True),
    sa.Column('revoked_at', hubstead.db.base.UTCDateTime(timezone=True), nullable=True),
    sa.ForeignKeyConstraint(['user_id'], ['accounts.id'], name=op.f('fk_tokens_user_id_accounts'), ondelete='CASCADE'),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_tokens')),
    sa.UniqueConstraint('token_hash', name=op.f('uq_tokens_token_hash'))
    )
    with op.batch_alter_table('tokens', schema=None) as batch_op:
        batch_op.create_index(batch_op.f('ix_tokens_user_id'), ['user_id'], unique=False)

    op.create_table('repo_lfs_objects',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('repo_id', sa.Integer(), nullable=False),
    sa.Column('oid', sa.String(length=64), nullable=False),
    sa.Column('created_at', hubstead.db.base.UTCDateTime(timezone=True), nullable=False),
    sa.ForeignKeyConstraint(['oid'], ['lfs_objects.oid'], name=op.f('fk_repo_lfs_objects_oid_lfs_objects')),
    sa.ForeignKeyConstraint(['repo_id'], ['repos.id'], name=op.f('fk_repo_lfs_objects_repo_id_repos'), ondelete='CASCADE'),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_repo_lfs_objects')),
    sa.UniqueConstraint('repo_id', 'oid', name=op.f('uq_repo_lfs_objects_repo_id'))
    )
    with op.batch_alter_table('repo_lfs_objects', schema=None) as batch_op:
        batch_op.create_index(batch_op.f('ix_repo_lfs_objects_oid'), ['oid'], unique=False)
        batch_op.create_index(batch_op.f('ix_repo_lfs_objects_repo_id'), ['repo_id'], unique=False)



def downgrade() -> None:
    with op.batch_alter_table('repo_lfs_objects', schema=None) as batch_op:
        batch_op.drop_index(batch_op.f('ix_repo_lfs_objects_repo_id'))
        batch_op.drop_index(batch_op.f('ix_repo_lfs_objects_oid'))

    op.drop_table('repo_lfs_objects')
    with op.batch_alter_table('tokens', schema=None) as batch_op:
        batch_op.drop_index(batch_op.f('ix_tokens_user_id'))

    op.drop_table('tokens')
    with op.batch_alter_table('repos', schema=None) as batch_op:
        batch_op.drop_index(batch_op.f('ix_repos_type'))
        batch_op.drop_index(batch_op.f('ix_repos_owner_id'))
        batch_op.drop_index(batch_op.f('ix_repos_namespace'))
        batch_op.drop_index(batch_op.f('ix_repos_last_modified'))

    op.drop_table('repos')
    with op.batch_alter_table('memberships', schema=None) as batch_op:
        batch_op.drop_index(batch_op.f('ix_memberships_user_id'))
        batch_op.drop_index(batch_op.f('ix_memberships_org_id'))

    op.drop_table('memberships')
    op.drop_table('lfs_objects')
    with op.batch_alter_table('accounts', schema=None) as batch_op:
        batch_op.drop_index(batch_op.f('ix_accounts_name'))

    op.drop_table('accounts')
