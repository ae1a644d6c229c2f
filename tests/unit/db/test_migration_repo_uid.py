"""Migration 0012 (repo uid, ids never reused) on a database with data: every repo gets its own uid, nothing
referencing the rebuilt tables is lost (SQLite rebuilds them, which must cascade nowhere), the search indexes
still follow the repos, and ids are not reused afterwards. Issue 13, defect 4."""

from __future__ import annotations

from collections.abc import Iterator

import pytest
from alembic import command
from sqlalchemy import Connection, Engine, text
from sqlalchemy.exc import IntegrityError

from hubstead.db import migrate
from hubstead.db.engine import make_engine

NOW = "2026-01-01 00:00:00"
OID = "a" * 64
CHILDREN = ("repo_tags", "repo_likes", "repo_lfs_objects", "tokens", "web_sessions", "jobs", "memberships")


@pytest.fixture
def engine(database_url: str) -> Iterator[Engine]:
    engine = make_engine(database_url)
    yield engine
    engine.dispose()


def _insert(db: Connection, table: str, **values: object) -> None:
    columns = ", ".join(values)
    db.execute(text(f"INSERT INTO {table} ({columns}) VALUES ({', '.join(':' + c for c in values)})"), values)


def _seed(db: Connection) -> None:
    for pk, name, kind in [(1, "alice", "user"), (2, "acme", "org")]:
        _insert(db, "accounts", id=pk, name=name, name_key=name, type=kind, fullname=name, is_admin=False,
                disabled=False, created_at=NOW)  # fmt: skip
    _insert(db, "memberships", id=1, org_id=2, user_id=1, role="admin")
    for pk, name in [(1, "alpha-model"), (2, "beta-model"), (3, "gamma-model")]:  # ids from the table's own counter
        _insert(db, "repos", type="model", namespace="alice", name=name, id_key=f"alice/{name}", owner_id=1,
                private=False, created_at=NOW, last_modified=NOW)  # fmt: skip
        _insert(db, "repo_tags", repo_id=pk, tag="pytorch")
        _insert(db, "repo_likes", user_id=1, repo_id=pk, created_at=NOW)
        if db.dialect.name == "sqlite":  # what repos/search.py writes next to repo_tags
            _insert(db, "repo_tag_search", rowid=pk, tokens="tpytorch")
    _insert(db, "lfs_objects", oid=OID, size=3, created_at=NOW)
    _insert(db, "repo_lfs_objects", id=1, repo_id=3, oid=OID, created_at=NOW)
    _insert(db, "tokens", id=1, user_id=1, name="t", role="write", token_hash="b" * 64, created_at=NOW)
    _insert(db, "web_sessions", id=1, user_id=1, secret_hash="c" * 64, created_at=NOW, last_seen_at=NOW,
            expires_at=NOW)  # fmt: skip
    _insert(db, "jobs", id=1, kind="scan.revision", payload='{"repo": 3}', state="queued", priority=0, attempts=0,
            max_attempts=3, run_after=NOW, progress=0.0, progress_message="", log="", cancel_requested=False,
            dedup_key="k", repo_id=3, account_id=1, created_at=NOW)  # fmt: skip


def _counts(db: Connection) -> dict[str, int]:
    return {t: int(db.scalar(text(f"SELECT count(*) FROM {t}")) or 0) for t in ("accounts", "repos", *CHILDREN)}


def test_existing_repos_get_distinct_uids_and_keep_everything(engine: Engine) -> None:
    migrate.upgrade(engine, "0011")
    with engine.begin() as db:
        _seed(db)
        before = _counts(db)

    migrate.upgrade(engine)

    with engine.connect() as db:
        assert _counts(db) == before
        uids = db.scalars(text("SELECT uid FROM repos ORDER BY id")).all()
        job_repo = db.scalar(text("SELECT repo_id FROM jobs"))
    assert len(set(uids)) == 3
    assert all(len(u) == 32 and int(u, 16) >= 0 for u in uids)
    assert job_repo == 3


def test_ids_are_not_reused_and_the_search_index_follows_repos_after_the_migration(engine: Engine) -> None:
    migrate.upgrade(engine, "0011")
    with engine.begin() as db:
        _seed(db)
    migrate.upgrade(engine)

    with engine.begin() as db:
        db.execute(text("DELETE FROM repos WHERE id = 3"))  # the last one: SQLite would give 3 again
        assert db.scalar(text("SELECT count(*) FROM repo_lfs_objects")) == 0  # foreign keys cascade again
        assert db.scalar(text("SELECT repo_id FROM jobs")) is None
        _insert(db, "repos", type="model", namespace="alice", name="delta-model", id_key="alice/delta-model",
                uid="d" * 32, owner_id=1, private=False, created_at=NOW, last_modified=NOW)  # fmt: skip
        new_pk = db.scalar(text("SELECT id FROM repos WHERE name = 'delta-model'"))
        with pytest.raises(IntegrityError), db.begin_nested():  # uids are unique
            _insert(db, "repos", type="model", namespace="alice", name="epsilon", id_key="alice/epsilon",
                    uid="d" * 32, owner_id=1, private=False, created_at=NOW, last_modified=NOW)  # fmt: skip
    assert new_pk == 4
    if engine.dialect.name == "sqlite":
        with engine.connect() as db:
            found = db.scalars(text("SELECT rowid FROM repo_search WHERE repo_search MATCH '\"model\"'")).all()
            tagged = db.scalars(text("SELECT rowid FROM repo_tag_search")).all()
        assert sorted(found) == [1, 2, 4]  # the trigger indexed the new repo, and unindexed the deleted one
        assert sorted(tagged) == [1, 2]


def test_downgrade_and_upgrade_again_keep_the_data(engine: Engine) -> None:
    migrate.upgrade(engine, "0011")
    with engine.begin() as db:
        _seed(db)
        before = _counts(db)
    migrate.upgrade(engine)

    command.downgrade(migrate.alembic_config(engine), "0011")
    with engine.connect() as db:
        assert _counts(db) == before
    migrate.upgrade(engine)

    with engine.connect() as db:
        assert _counts(db) == before
        assert db.scalar(text("SELECT count(DISTINCT uid) FROM repos")) == 3
