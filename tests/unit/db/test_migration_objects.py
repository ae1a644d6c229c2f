"""Migration 0012_objects: the links a Xet shard's unchecked sha256 made to a verified object go; facts stay."""

from __future__ import annotations

from collections.abc import Iterator

import pytest
from sqlalchemy import Engine, text

from hubstead.db import migrate
from hubstead.db.engine import make_engine

NOW = "2026-01-01 00:00:00"
A, B, C = ("a" * 64, "b" * 64, "c" * 64)


@pytest.fixture
def engine(database_url: str) -> Iterator[Engine]:
    engine = make_engine(database_url)
    yield engine
    engine.dispose()


def test_xet_claims_stop_being_verified_objects(engine: Engine) -> None:
    migrate.upgrade(engine, "0008")
    with engine.begin() as db:
        db.execute(
            text(
                "INSERT INTO accounts (id, name, name_key, type, fullname, is_admin, disabled, created_at) "
                "VALUES (1, 'u', 'u', 'user', 'U', false, false, :now)"
            ),
            {"now": NOW},
        )
        for pk, name in [(1, "claims"), (2, "uploads")]:
            db.execute(
                text(
                    "INSERT INTO repos (id, type, namespace, name, id_key, owner_id, private, created_at, "
                    "last_modified) VALUES (:pk, 'model', 'u', :name, :key, 1, false, :now, :now)"
                ),
                {"pk": pk, "name": name, "key": f"u/{name}", "now": NOW},
            )
        db.execute(text("INSERT INTO xet_files (hash, size, terms, created_at) VALUES (:h, 5, :t, :now)"),
                   {"h": "f" * 64, "t": b"", "now": NOW})  # fmt: skip
        for oid, size in [(A, 5), (B, 100), (C, 7)]:
            db.execute(text("INSERT INTO lfs_objects (oid, size, created_at) VALUES (:o, :s, :now)"),
                       {"o": oid, "s": size, "now": NOW})  # fmt: skip
        # repo 1 claimed A through a shard, which also made it a linked "verified" object; repo 2 uploaded B
        db.execute(text("INSERT INTO xet_repo_files (repo_id, sha256, file_hash, size, created_at) "
                        "VALUES (1, :a, :f, 5, :now)"), {"a": A, "f": "f" * 64, "now": NOW})  # fmt: skip
        for pk, (repo, oid) in enumerate([(1, A), (2, B)], start=1):
            db.execute(text("INSERT INTO repo_lfs_objects (id, repo_id, oid, created_at) VALUES (:i, :r, :o, :now)"),
                       {"i": pk, "r": repo, "o": oid, "now": NOW})  # fmt: skip
        # C was uploaded whole and converted, and is linked to no repo any more
        db.execute(text("INSERT INTO xet_lfs_conversions (sha256, file_hash, created_at) VALUES (:c, :f, :now)"),
                   {"c": C, "f": "f" * 64, "now": NOW})  # fmt: skip

    migrate.upgrade(engine)

    with engine.connect() as db:
        links = db.execute(text("SELECT repo_id, oid FROM repo_lfs_objects")).all()
        objects = set(db.scalars(text("SELECT oid FROM lfs_objects")))
        claims = db.execute(text("SELECT repo_id, sha256 FROM xet_repo_files")).all()
    assert [tuple(r) for r in links] == [(2, B)]
    assert objects == {B, C}
    assert [tuple(r) for r in claims] == [(1, A)]  # repo 1 still reads its own file
