"""Listing blobs and dropping abandoned writes, which garbage collection builds on, for both stores."""

from __future__ import annotations

import os
import time
from pathlib import Path

import pytest

from hubstead.storage import BlobStore, InMemoryBlobStore, LocalBlobStore


@pytest.fixture(params=["local", "memory"])
def store(request: pytest.FixtureRequest, tmp_path: Path) -> BlobStore:
    return LocalBlobStore(tmp_path / "blobs") if request.param == "local" else InMemoryBlobStore()


def test_a_listing_holds_the_committed_blobs_under_a_prefix_with_sizes_and_times(store: BlobStore) -> None:
    before = time.time() - 1
    store.put("xet/xorbs/ab/abc.1", b"x" * 10)
    store.put("xet/xorbs/cd/cde.2", b"y" * 3)
    store.put("xet/xorbsish/other", b"z")  # a longer name is not inside the prefix
    store.put("lfs/aa/bb/oid", b"w")
    pending = store.open_writer("xet/xorbs/ef/efg.3")
    pending.write(b"not committed")

    listed = {b.key: b for b in store.list_blobs("xet/xorbs")}

    assert {k: b.size for k, b in listed.items()} == {"xet/xorbs/ab/abc.1": 10, "xet/xorbs/cd/cde.2": 3}
    assert all(before < b.modified <= time.time() + 1 for b in listed.values())
    assert list(store.list_blobs("nothing/here")) == []
    pending.abort()


def test_only_writes_older_than_the_cutoff_are_dropped(tmp_path: Path) -> None:
    store = LocalBlobStore(tmp_path / "blobs")
    old, fresh = store.open_writer("lfs/aa/bb/old"), store.open_writer("lfs/aa/bb/fresh")
    old.write(b"abandoned when its process died")
    fresh.write(b"an upload in flight")
    temps = sorted((tmp_path / "blobs" / ".tmp").iterdir(), key=lambda p: p.stat().st_ino)
    assert len(temps) == 2
    an_hour_ago = time.time() - 3600
    old_temp = next(p for p in temps if p.read_bytes().startswith(b"abandoned"))
    os.utime(old_temp, (an_hour_ago, an_hour_ago))

    assert store.drop_abandoned_writes(time.time() - 60) == 1

    assert not old_temp.exists()
    fresh.write(b", still going")
    fresh.commit()
    assert b"".join(store.read_range("lfs/aa/bb/fresh")) == b"an upload in flight, still going"
    assert store.drop_abandoned_writes(time.time() + 60) == 0  # committed blobs are not writes
