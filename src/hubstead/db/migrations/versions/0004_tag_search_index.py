"""tag search index: repo tags as FTS5 tokens on SQLite, so several tags intersect fast

Revision ID: 0004
Revises: 0003
Create Date: 2026-11-22 01:05:00
"""

from __future__ import annotations

import hashlib
from collections import defaultdict

import sqlalchemy as sa
from alembic import op

revision = "0004"
down_revision = "0003"
branch_labels = None
depends_on = None


def upgrade() -> None:
    # rowid = repos.id; one token per tag (see repos/search.py: tag_token). PostgreSQL's planner does
    # without it (the (tag, repo_id) index and statistics serve it well).
    if op.get_bind().dialect.name != "sqlite":
        return
    op.execute("CREATE VIRTUAL TABLE repo_tag_search USING fts5(tokens, tokenize='ascii')")
    op.execute(
        "CREATE TRIGGER repo_tag_search_ad AFTER DELETE ON repos BEGIN "
        "DELETE FROM repo_tag_search WHERE rowid = old.id; END"
    )
    bind = op.get_bind()
    tags: dict[int, list[str]] = defaultdict(list)
    for repo_id, tag in bind.execute(sa.text("SELECT repo_id, tag FROM repo_tags")):
        tags[repo_id].append("t" + hashlib.sha1(tag.encode()).hexdigest()[:20])  # = repos.search.tag_token
    for repo_id, tokens in tags.items():
        bind.execute(
            sa.text("INSERT INTO repo_tag_search(rowid, tokens) VALUES (:id, :tokens)"),
            {"id": repo_id, "tokens": " ".join(tokens)},
        )


def downgrade() -> None:
    if op.get_bind().dialect.name != "sqlite":
        return
    op.execute("DROP TRIGGER IF EXISTS repo_tag_search_ad")
    op.execute("DROP TABLE IF EXISTS repo_tag_search")
